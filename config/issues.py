"""Config errors a person can act on: file, line, field path and what was expected.

pydantic's own messages ("Input should be a valid number") name neither the expectation in
config terms nor the offending value; these do, in one style: ``expected X, got Y``.
"""

from __future__ import annotations

import datetime
import difflib
import json
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from config.schema_types import EXPECTED
from config.yaml_source import FieldPath, ParsedYaml, PathPart


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file: where it is and what was expected."""

    file: str
    line: int
    path: FieldPath
    message: str

    @property
    def dotted_path(self) -> str:
        """Return the field path as written in messages (``queues.sales.overflow.after_s``)."""
        return ".".join(str(part) for part in self.path)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return (
            f"{where}: {self.dotted_path}: {self.message}"
            if self.path
            else f"{where}: {self.message}"
        )


class ConfigInvalid(ValueError):
    """A config file was refused; `errors` holds every problem found, in file order."""

    def __init__(self, errors: Sequence[ConfigIssue]) -> None:
        self.errors: tuple[ConfigIssue, ...] = tuple(errors)
        super().__init__("\n".join(str(issue) for issue in self.errors))


def issues_from_validation(
    error: ValidationError, parsed: ParsedYaml, filename: str, root: type[BaseModel]
) -> list[ConfigIssue]:
    """Turn every pydantic error into a ConfigIssue with the line of the offending node."""
    issues = []
    for detail in error.errors():
        path = _clean_path(detail["loc"])
        line = parsed.line_of(path)
        issues.append(ConfigIssue(filename, line, path, describe(detail, path, root)))
    return issues


def sorted_issues(issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    """Order issues as they appear in the file, dropping exact repeats."""
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda i: (i.file, i.line, tuple(str(p) for p in i.path), i.message))


def _clean_path(loc: tuple[int | str, ...]) -> FieldPath:
    # pydantic marks an error in a mapping KEY by appending "[key]" after the key itself.
    return tuple(loc[:-1]) if loc and loc[-1] == "[key]" else tuple(loc)


def describe(detail: ErrorDetails, path: FieldPath, root: type[BaseModel]) -> str:
    """Say what was expected at `path` and what was found."""
    kind = detail["type"]
    context = detail.get("ctx") or {}
    if kind == "missing":
        return "missing; this field is required"
    if kind == "extra_forbidden":
        return _unknown_key(path, root)
    if kind == EXPECTED:
        what = f"expected {context['what']}"
    elif kind in {"model_type", "model_attributes_type", "dict_type", "mapping_type"}:
        what = "expected a mapping (key: value lines)"
    elif kind in {"tuple_type", "list_type", "iterable_type", "sequence_str"}:
        what = "expected a list"
    elif kind in {"literal_error", "enum"}:
        what = f"expected one of {context.get('expected', '')}".rstrip()
    elif kind.startswith("date"):
        what = "expected a date written YYYY-MM-DD"
    elif kind == "recursion_loop":
        return "expected plain data, got a structure that contains itself"
    else:
        what = f"expected a valid value ({detail['msg']})"
    return f"{what}, got {render(detail['input'])}"


def render(value: object) -> str:
    """Show a value as it would appear in the YAML file, shortened."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        keys = ", ".join(str(key) for key in list(value)[:6])
        return f"a mapping with {keys}" if keys else "an empty mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}" if value else "an empty list"
    return f"a {type(value).__name__}"


def _unknown_key(path: FieldPath, root: type[BaseModel]) -> str:
    allowed = fields_at(root, path[:-1])
    if not allowed:
        return "unknown key"
    message = "unknown key; expected one of " + ", ".join(allowed)
    close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
    return message + (f' (did you mean "{close[0]}"?)' if close else "")


def fields_at(root: type[BaseModel], path: Sequence[PathPart]) -> list[str]:
    """Return the keys the model found at `path` accepts (empty if it is not a model)."""
    current: Any = root
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in {Mapping, dict}:
            current = get_args(current)[1]
        elif get_origin(current) is tuple:
            current = get_args(current)[0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in {Union, types.UnionType}:
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
