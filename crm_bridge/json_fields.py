"""Read and write fields of a CRM's JSON by configured dotted paths.

Hand-written because the needs are tiny (dots, one "*" to map over a list, joining several
paths) and a JSONPath library would add a query language to configure and secure.
"""

from __future__ import annotations

from typing import Any

from crm_bridge.errors import CrmUnavailable

MISSING = object()


def pluck(document: Any, path: str) -> Any:
    """Return the value at `path` in `document`, a list for "*" paths, or MISSING."""
    node: Any = document
    parts = path.split(".") if path else []
    for index, part in enumerate(parts):
        if part == "*":
            if not isinstance(node, list):
                return MISSING
            rest = ".".join(parts[index + 1 :])
            values = [pluck(item, rest) for item in node]
            return [v for v in values if v is not MISSING and v is not None]
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def get_text(document: Any, path: str | tuple[str, ...], what: str) -> str | None:
    """Return a text field (several paths joined by spaces); None when absent or null."""
    paths = (path,) if isinstance(path, str) else path
    pieces: list[str] = []
    for one in paths:
        value = pluck(document, one)
        if value is MISSING or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise CrmUnavailable(f"malformed response: {what} is not text")
        pieces.append(str(value).strip())
    joined = " ".join(p for p in pieces if p)
    return joined or None


def get_texts(document: Any, path: str | tuple[str, ...], what: str) -> tuple[str, ...]:
    """Return a list-of-text field ("*" path); empty when absent."""
    paths = (path,) if isinstance(path, str) else path
    found: list[str] = []
    for one in paths:
        value = pluck(document, one)
        if value is MISSING or value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CrmUnavailable(f"malformed response: {what} is not a list of text")
        found.extend(value)
    return tuple(found)


def get_int(document: Any, path: str | tuple[str, ...], what: str) -> int:
    """Return a whole-number field; 0 when absent."""
    paths = (path,) if isinstance(path, str) else path
    for one in paths:
        value = pluck(document, one)
        if value is MISSING or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CrmUnavailable(f"malformed response: {what} is not a number")
        return int(value)
    return 0


def put(document: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at dotted `path` in `document`, creating objects on the way."""
    parts = path.split(".")
    node = document
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"field path {path}: {part} is not an object")
        node = child
    node[parts[-1]] = value
