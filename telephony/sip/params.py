"""Semicolon-separated `;name=value` parameters, as in URIs, Via and name-addr headers."""

from __future__ import annotations

from telephony.sip.errors import SipParseError

Params = dict[str, str | None]

_BAD_CHARS = frozenset(' \t"<>')


def parse_params(text: str, *, what: str) -> Params:
    """Parse `;a=b;c` (leading ';' optional) into an ordered dict with lower-case names."""
    params: Params = {}
    text = text.strip()
    if not text:
        return params
    if text.startswith(";"):
        text = text[1:]
    for raw in _split_semicolons(text):
        name, sep, value = raw.partition("=")
        name = name.strip().lower()
        if not name or not _BAD_CHARS.isdisjoint(name):
            raise SipParseError(f"invalid parameter name in {what}")
        if not sep:
            params[name] = None
            continue
        value = value.strip()
        if value.startswith('"'):
            if len(value) < 2 or not value.endswith('"'):
                raise SipParseError(f"unterminated quoted parameter in {what}")
        elif not _BAD_CHARS.isdisjoint(value):
            raise SipParseError(f"invalid parameter value in {what}")
        params[name] = value
    return params


def format_params(params: Params) -> str:
    """Serialise parameters back to `;a=b;c` form."""
    return "".join(
        f";{name}" if value is None else f";{name}={value}" for name, value in params.items()
    )


def unquote(value: str) -> str:
    """Remove surrounding double quotes and backslash escapes, if quoted."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" not in inner:
            return inner
        out: list[str] = []
        escaped = False
        for char in inner:
            if escaped:
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                out.append(char)
        return "".join(out)
    return value


def quote(value: str) -> str:
    """Quote a string for a header, escaping backslashes and quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split_semicolons(text: str) -> list[str]:
    """Split on ';' outside double quotes."""
    if '"' not in text:
        return [part for part in text.split(";") if part.strip()]
    parts: list[str] = []
    in_quotes = False
    escaped = False
    start = 0
    for index, char in enumerate(text):
        if in_quotes:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == ";":
            if text[start:index].strip():
                parts.append(text[start:index])
            start = index + 1
    if in_quotes:
        raise SipParseError("unterminated quoted string in parameters")
    if text[start:].strip():
        parts.append(text[start:])
    return parts
