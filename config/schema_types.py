"""Field types of the routing config: strict scalars whose errors say what was expected.

Each validator raises an error of type ``expected`` whose message is the expectation alone
("expected a positive number"); `config.issues` adds the offending value. Scalars are strict
because YAML already types them: a quoted "10" where a number belongs is a mistake to report,
not to guess at.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, PlainSerializer, PlainValidator, WrapSerializer
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import SerializerFunctionWrapHandler

EXPECTED = "expected"

K = TypeVar("K")
V = TypeVar("V")


def expected(what: str) -> PydanticCustomError:
    """Return the error that says a value should have been `what`."""
    return PydanticCustomError(EXPECTED, "expected {what}", {"what": what})


def _number(value: object, what: str, accept: Callable[[float], bool]) -> float:
    # bool is an int subclass; `true` where a number belongs is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise expected(what)
    number = float(value)
    if not math.isfinite(number) or not accept(number):
        raise expected(what)
    return number


def _whole(value: object, what: str, accept: Callable[[int], bool]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not accept(value):
        raise expected(what)
    return value


def _positive_number(value: object) -> float:
    return _number(value, "a positive number", lambda n: n > 0)


def _non_negative_number(value: object) -> float:
    return _number(value, "a number, 0 or more", lambda n: n >= 0)


def _any_number(value: object) -> float:
    return _number(value, "a number", lambda n: True)


def _percent(value: object) -> float:
    return _number(value, "a percentage from 0 to 100", lambda n: 0 <= n <= 100)


def _count(value: object) -> int:
    return _whole(value, "a whole number, 0 or more", lambda n: n >= 0)


def _positive_count(value: object) -> int:
    return _whole(value, "a whole number, 1 or more", lambda n: n >= 1)


def _proficiency(value: object) -> int:
    return _whole(value, "a proficiency, a whole number from 1 to 10", lambda n: 1 <= n <= 10)


_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _identifier(value: object) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise expected("an id of letters, digits, '.', '_' or '-' (at most 64)")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise expected("a non-empty string")
    return value


_PHONE = re.compile(r"\+?[0-9]{2,20}")


def _phone_number(value: object) -> str:
    # An unquoted +44... is read by YAML as an integer, losing the '+' and any leading zero.
    if isinstance(value, int) and not isinstance(value, bool):
        raise expected('a quoted phone number (write "+441632960100", in quotes)')
    if not isinstance(value, str) or not _PHONE.fullmatch(value):
        raise expected("a phone number of digits with an optional leading '+'")
    return value


_SIP_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")


def _sip_username(value: object) -> str:
    # Same reason as phone numbers: an unquoted 0101 would be read as the octal integer 65.
    if isinstance(value, int) and not isinstance(value, bool):
        raise expected('a quoted SIP username (write "1001", in quotes)')
    if not isinstance(value, str) or not _SIP_USER.fullmatch(value):
        raise expected("a SIP username of letters, digits, '.', '_', '+' or '-'")
    return value


_SIP_URI = re.compile(r"sips?:[^\s@:;]+@[^\s@;]+(;[^\s]*)?")


def _sip_uri(value: object) -> str:
    if not isinstance(value, str) or not _SIP_URI.fullmatch(value):
        raise expected('a SIP URI such as "sip:sales@partner.example.com"')
    return value


@functools.cache
def _zone_names() -> frozenset[str]:
    # The installed tz database's own list: it leaves out files that are not zones
    # (zone.tab, posixrules) and paths a name should never reach.
    return frozenset(available_timezones())


def _timezone(value: object) -> str:
    what = 'an IANA time zone such as "Europe/London"'
    if not isinstance(value, str) or value not in _zone_names():
        close = (
            difflib.get_close_matches(value, _zone_names(), n=1) if isinstance(value, str) else []
        )
        raise expected(f'an IANA time zone (did you mean "{close[0]}"?)' if close else what)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise expected(what) from exc
    return value


@dataclass(frozen=True, slots=True, order=True)
class TimeRange:
    """Cover the minutes of a day from `start` (inclusive) to `end` (exclusive)."""

    start: int
    end: int

    def contains(self, second_of_day: float) -> bool:
        """Return whether a time of day, in seconds since midnight, falls inside the range."""
        return self.start * 60 <= second_of_day < self.end * 60

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_RANGE = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])")


def _time_range(value: object) -> TimeRange:
    if isinstance(value, TimeRange):
        return value
    what = 'a time range "HH:MM-HH:MM" with the start before the end (end at most 24:00)'
    match = _RANGE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise expected(what)
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start >= end or start >= 24 * 60 or end > 24 * 60:
        raise expected(what)
    return TimeRange(start, end)


def _freeze(mapping: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping))


def _thaw(mapping: Mapping[Any, Any], serialize: SerializerFunctionWrapHandler) -> Any:
    return serialize(dict(mapping))


PositiveNumber = Annotated[float, PlainValidator(_positive_number)]
NonNegativeNumber = Annotated[float, PlainValidator(_non_negative_number)]
Number = Annotated[float, PlainValidator(_any_number)]
Percent = Annotated[float, PlainValidator(_percent)]
Count = Annotated[int, PlainValidator(_count)]
PositiveCount = Annotated[int, PlainValidator(_positive_count)]
Proficiency = Annotated[int, PlainValidator(_proficiency)]
Identifier = Annotated[str, PlainValidator(_identifier)]
Text = Annotated[str, PlainValidator(_text)]
PhoneNumber = Annotated[str, PlainValidator(_phone_number)]
SipUsername = Annotated[str, PlainValidator(_sip_username)]
SipUri = Annotated[str, PlainValidator(_sip_uri)]
TimeZoneName = Annotated[str, PlainValidator(_timezone)]
Clock = Annotated[TimeRange, PlainValidator(_time_range), PlainSerializer(str)]

# A mapping that stays read-only after validation, so a shared config cannot be changed in place.
FrozenMap = Annotated[Mapping[K, V], AfterValidator(_freeze), WrapSerializer(_thaw)]
