"""Ordered SIP headers with case-insensitive, compact-form-aware access."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# RFC 3261 §7.3.3 and later RFCs' compact forms.
COMPACT_FORMS = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

# Names whose usual spelling is not plain "Word-Word" capitalisation.
_SPECIAL_SPELLING = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
    "p-asserted-identity": "P-Asserted-Identity",
    "p-preferred-identity": "P-Preferred-Identity",
}

# Headers defined as comma-separated lists, which may be split or joined freely (RFC 3261 §7.3.1).
# Authorization and WWW-Authenticate are deliberately absent: their commas separate parameters.
LIST_HEADERS = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "allow-events",
        "content-encoding",
        "in-reply-to",
        "path",
        "service-route",
        "p-asserted-identity",
    }
)

_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")


# Names seen so far and their keys: a message has ~10 header lines and code looks headers up
# by name all the time, so lower() and the compact-form lookup are done once per spelling.
# Bounded, because peers choose the names.
_KEYS: dict[str, str] = {}
_MAX_KEYS = 2048


def header_key(name: str) -> str:
    """Return the lookup key of a header name: lower case, compact form expanded."""
    key = _KEYS.get(name)
    if key is None:
        key = name.lower()
        key = COMPACT_FORMS.get(key, key)
        if len(_KEYS) < _MAX_KEYS:
            _KEYS[name] = key
    return key


# Spellings by key, filled as keys are serialised (every message writes the same ~10). Bounded.
_DISPLAY: dict[str, str] = dict(_SPECIAL_SPELLING)
# Names already checked to be tokens, with their keys (add() checks each spelling once).
_TOKEN_KEYS: dict[str, str] = {}


def display_name(key: str) -> str:
    """Return the conventional spelling of a header key, for serialising."""
    name = _DISPLAY.get(key)
    if name is None:
        name = "-".join(part.capitalize() for part in key.split("-"))
        if len(_DISPLAY) < _MAX_KEYS:
            _DISPLAY[key] = name
    return name


def is_token(text: str) -> bool:
    """Tell whether text is a non-empty RFC 3261 token."""
    return bool(text) and _TOKEN_CHARS.issuperset(text)


def split_list(value: str) -> list[str]:
    """Split a comma-joined header value, respecting quotes and <...> brackets."""
    # Hand-written because the commas to split on depend on quoting and angle brackets, which
    # neither str.split nor the csv module understand; one linear pass, no backtracking.
    if "," not in value:
        stripped = value.strip()
        return [stripped] if stripped else []
    parts: list[str] = []
    in_quotes = False
    in_brackets = False
    escaped = False
    start = 0
    for index, char in enumerate(value):
        if in_quotes:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_brackets = True
        elif char == ">":
            in_brackets = False
        elif char == "," and not in_brackets:
            part = value[start:index].strip()
            if part:
                parts.append(part)
            start = index + 1
    last = value[start:].strip()
    if last:
        parts.append(last)
    return parts


class Headers:
    """An ordered multi-map of SIP headers, looked up case-insensitively by full or compact name."""

    __slots__ = ("_items", "_memo")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        # Parsed values (top Via, CSeq...) by the key of the header they come from; a change to
        # a header drops only its own entry, so adding received= to the Via keeps From and To.
        self._memo: dict[str, Any] | None = None
        for name, value in items:
            self.add(name, value)

    @classmethod
    def _trusted(cls, items: list[tuple[str, str]]) -> Headers:
        """Wrap (key, value) pairs the parser has already checked."""
        headers = cls.__new__(cls)
        headers._items = items
        headers._memo = None
        return headers

    def memo(self, key: str, parse: Callable[[], T]) -> T:
        """Return a value parsed from header `key` (a lookup key), parsed once until it changes."""
        if self._memo is None:
            self._memo = {}
        elif key in self._memo:
            value: T = self._memo[key]
            return value
        value = parse()
        self._memo[key] = value
        return value

    def forget_parsed(self) -> None:
        """Drop every parsed value (they are parsed again if asked for)."""
        self._memo = None

    def _forget(self, key: str) -> None:
        if self._memo is not None:
            self._memo.pop(key, None)

    def add(self, name: str, value: str) -> None:
        """Append a header line."""
        key = _TOKEN_KEYS.get(name)
        if key is None:
            if not is_token(name):
                raise ValueError("header name must be a token")
            key = header_key(name)
            if len(_TOKEN_KEYS) < _MAX_KEYS:
                _TOKEN_KEYS[name] = key
        if "\r" in value or "\n" in value:
            raise ValueError("header value must not contain line breaks")
        if self._memo:
            self._memo.pop(key, None)
        self._items.append((key, value.strip()))

    def get(self, name: str) -> str | None:
        """Return the first header line's value, or None."""
        key = header_key(name)
        for item_key, value in self._items:
            if item_key == key:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Return every value, splitting comma-joined lines of list headers (Via, Contact...)."""
        key = header_key(name)
        values = [value for item_key, value in self._items if item_key == key]
        if key not in LIST_HEADERS:
            return values
        result: list[str] = []
        for value in values:
            result.extend(split_list(value))
        return result

    def set(self, name: str, value: str) -> None:
        """Replace every line of a header with one value, at the first line's position."""
        if "\r" in value or "\n" in value:
            raise ValueError("header value must not contain line breaks")
        key = header_key(name)
        self._forget(key)
        for index, (item_key, _) in enumerate(self._items):
            if item_key == key:
                self._items[index] = (key, value.strip())
                self._items[index + 1 :] = [i for i in self._items[index + 1 :] if i[0] != key]
                return
        self.add(name, value)

    def prepend(self, name: str, value: str) -> None:
        """Insert a header line before all others (a new top Via, say)."""
        self.add(name, value)
        self._items.insert(0, self._items.pop())

    def remove(self, name: str) -> None:
        """Remove every line of a header."""
        key = header_key(name)
        self._forget(key)
        self._items = [item for item in self._items if item[0] != key]

    def replace_first_value(self, name: str, value: str) -> None:
        """Replace the first list element of a header (the top Via), keeping the rest."""
        if "\r" in value or "\n" in value:
            raise ValueError("header value must not contain line breaks")
        key = header_key(name)
        self._forget(key)
        for index, (item_key, line) in enumerate(self._items):
            if item_key == key:
                rest = split_list(line)[1:]
                self._items[index] = (key, ", ".join([value, *rest]))
                return
        self.add(name, value)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = header_key(name)
        return any(item_key == key for item_key, _ in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """Yield (conventional name, value) per header line, in order."""
        for key, value in self._items:
            yield display_name(key), value

    def lines(self, skip: str = "") -> list[str]:
        """Return "Name: value" per header line, in order, leaving out the key `skip`."""
        return [f"{display_name(key)}: {value}" for key, value in self._items if key != skip]

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({len(self._items)} lines)"

    def copy(self) -> Headers:
        """Return an independent copy."""
        return Headers._trusted(list(self._items))

    def without(self, name: str) -> Headers:
        """Return a copy without one header."""
        key = header_key(name)
        return Headers._trusted([item for item in self._items if item[0] != key])

    def keys(self) -> list[str]:
        """Return the lookup keys of the lines, in order."""
        return [key for key, _ in self._items]
