"""A small valid config document, and ways to break it one line at a time."""

from __future__ import annotations

from pathlib import Path

from config.issues import ConfigIssue
from config.loader import validate_document
from config.schema import ContactCentreConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"

BASE = """\
version: 1
skills:
  sales: {name: Sales}
  english: {name: English}
queues:
  sales:
    name: Sales
    skills: {sales: 3}
    bullseye:
      - {after_s: 30, min_proficiency: 1}
  support:
    name: Support
calendars:
  office:
    timezone: Europe/London
    weekly:
      mon: ["09:00-17:00"]
    holidays:
      - {date: 2026-12-25, name: Christmas Day}
routes:
  main:
    dnis: "+441632960100"
    queue: sales
    hours: office
    out_of_hours: {voicemail: sales}
agents:
  ann:
    name: Ann
    sip_username: "1001"
    skills: {sales: 5}
    queues: {sales: 1}
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    """Replace the one line `old` of the document with `new` (one or more lines)."""
    lines = text.splitlines()
    assert lines.count(old) == 1, f"{old!r} must be exactly one line of the document"
    lines[lines.index(old)] = new
    return "\n".join(lines) + "\n"


def line_of(text: str, fragment: str) -> int:
    """Return the 1-based number of the one line that contains `fragment`."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(found) == 1, f"{fragment!r} is on lines {found}"
    return found[0]


def issues_of(text: str, filename: str = "test.yaml") -> list[ConfigIssue]:
    """Validate a document that must be refused and return its issues."""
    result = validate_document(text, filename)
    assert isinstance(result, list), "the document was accepted"
    return result


def config_of(text: str) -> ContactCentreConfig:
    """Validate a document that must be accepted."""
    result = validate_document(text, "test.yaml")
    assert not isinstance(result, list), "\n".join(str(issue) for issue in result)
    return result
