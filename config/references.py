"""Cross-references in a config document: the ids each section defines, checked where they are used.

The ids are gathered from the raw document before validation, so a reference to an undefined
queue, skill, agent or calendar is reported by the field that makes it, with that field's line,
together with every other error. A section that is not a mapping defines nothing checkable; its
references are then not checked, so one broken section does not bury the file in follow-on errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import PlainValidator

from config.schema_types import expected

SECTIONS = ("skills", "queues", "agents", "calendars")


@dataclass(frozen=True, slots=True)
class KnownIds:
    """The ids a document defines per section (None: the section is unusable) and shared values."""

    ids: Mapping[str, frozenset[str] | None]
    sip_usernames: Counter[str] = field(default_factory=Counter)
    dnis: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_raw(cls, document: object) -> KnownIds:
        """Gather the ids from a document that has not been validated yet."""
        if not isinstance(document, Mapping):
            return cls({section: None for section in SECTIONS})
        ids: dict[str, frozenset[str] | None] = {}
        for section in SECTIONS:
            value = document.get(section, {})
            if value is None:
                value = {}
            ids[section] = frozenset(str(k) for k in value) if isinstance(value, Mapping) else None
        return cls(
            ids,
            Counter(_values(document.get("agents"), "sip_username")),
            Counter(_values(document.get("routes"), "dnis")),
        )


def _values(section: object, key: str) -> Iterator[str]:
    if isinstance(section, Mapping):
        for entry in section.values():
            if isinstance(entry, Mapping) and isinstance(entry.get(key), str):
                yield entry[key]


_KNOWN: ContextVar[KnownIds | None] = ContextVar("config_known_ids", default=None)


@contextmanager
def known_ids(document: object) -> Iterator[KnownIds]:
    """Make the document's ids available to reference fields while it is validated."""
    known = KnownIds.from_raw(document)
    token = _KNOWN.set(known)
    try:
        yield known
    finally:
        _KNOWN.reset(token)


def _listing(names: frozenset[str]) -> str:
    shown = sorted(names)[:8]
    more = f", ... ({len(names)} in all)" if len(names) > len(shown) else ""
    return ", ".join(shown) + more if shown else "none are defined"


def _reference(section: str, singular: str) -> PlainValidator:
    def check(value: object) -> str:
        if not isinstance(value, str) or not value:
            raise expected(f"the id of {singular} defined under {section}")
        known = _KNOWN.get()
        names = None if known is None else known.ids.get(section)
        if names is not None and value not in names:
            raise expected(f"{singular} defined under {section} ({_listing(names)})")
        return value

    return PlainValidator(check)


SkillRef = Annotated[str, _reference("skills", "a skill")]
QueueRef = Annotated[str, _reference("queues", "a queue")]
AgentRef = Annotated[str, _reference("agents", "an agent")]
CalendarRef = Annotated[str, _reference("calendars", "a calendar")]


def unique_sip_username(value: str) -> str:
    """Refuse a SIP username that another agent in the same document also uses."""
    known = _KNOWN.get()
    if known is not None and known.sip_usernames[value] > 1:
        raise expected("a SIP username no other agent uses")
    return value


def unique_dnis(value: str) -> str:
    """Refuse a dialled number that another route in the same document also uses."""
    known = _KNOWN.get()
    if known is not None and known.dnis[value] > 1:
        raise expected("a dialled number no other route uses")
    return value
