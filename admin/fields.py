"""One form field per leaf of an item's data, so each check-config error sits beside its field."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PathPart = str | int


@dataclass(frozen=True, slots=True)
class FieldRow:
    """A form field for one leaf value: its path in the item, the text shown and its kind."""

    path: tuple[PathPart, ...]
    text: str
    # number | text | bool | list (of plain values, written comma-separated)
    kind: str

    @property
    def dotted(self) -> str:
        """Return the path as check-config writes it (``service_level.threshold_s``)."""
        return ".".join(str(part) for part in self.path)

    @property
    def path_json(self) -> str:
        """Return the path as JSON: ids may contain dots, so the form keeps the parts apart."""
        return json.dumps(list(self.path))


def _plain(value: object) -> bool:
    return not isinstance(value, Mapping | list | tuple)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text"


def flatten(value: object, prefix: tuple[PathPart, ...] = ()) -> list[FieldRow]:
    """Return a field for every leaf of `value`; a list of plain values is one field."""
    if isinstance(value, Mapping):
        rows: list[FieldRow] = []
        for key, inner in value.items():
            rows.extend(flatten(inner, (*prefix, str(key))))
        return rows
    if isinstance(value, Sequence) and not isinstance(value, str):
        if all(_plain(item) for item in value):
            return [FieldRow(prefix, ", ".join(_text(item) for item in value), "list")]
        rows = []
        for index, item in enumerate(value):
            rows.extend(flatten(item, (*prefix, index)))
        return rows
    return [FieldRow(prefix, _text(value), _kind(value))]


def item_rows(value: Mapping[str, Any]) -> list[FieldRow]:
    """Return the form fields of one item."""
    return flatten(value)
