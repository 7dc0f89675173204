"""Changes to one item of the config (a queue, a route, an agent...) as plain data.

A change is made on the config's plain data (what `dump_config` writes) and the whole result
is validated again by `config.loader`, the same rules `switchboard check-config` applies, so
an edit can never get past a check a file would fail (references, overflow loops, ...).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from config.issues import ConfigIssue
from config.schema import ContactCentreConfig

# The config's sections an admin edits item by item (tiers are edited through YAML import).
SECTIONS: tuple[str, ...] = (
    "queues",
    "routes",
    "calendars",
    "skills",
    "agents",
    "reason_codes",
    "dispositions",
)

SECTION_TITLES: Mapping[str, str] = {
    "queues": "Queues",
    "routes": "Routes",
    "calendars": "Business hours and holidays",
    "skills": "Skills",
    "agents": "Agents",
    "reason_codes": "Reason codes",
    "dispositions": "Dispositions",
}

# What a new item starts from: the fields every item of the section must have.
NEW_ITEM: Mapping[str, Mapping[str, Any]] = {
    "queues": {"name": ""},
    "routes": {"dnis": "", "queue": ""},
    "calendars": {"timezone": "UTC", "weekly": {"mon": ["09:00-17:00"]}},
    "skills": {"name": ""},
    "agents": {"name": "", "sip_username": "", "skills": {}, "queues": {}},
    "reason_codes": {"name": ""},
    "dispositions": {"name": ""},
}

# The key of an issue about the whole document rather than one field.
DOCUMENT_FIELD = "document"


def plain_data(config: ContactCentreConfig) -> dict[str, Any]:
    """Return the config as plain data, exactly as `dump_config` writes it."""
    return config.model_dump(mode="json", exclude_none=True)


def with_item(
    data: Mapping[str, Any], section: str, item_id: str, value: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return a copy of `data` with one item replaced, added, or removed (`value` None)."""
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}; expected one of {', '.join(SECTIONS)}")
    changed = copy.deepcopy(dict(data))
    items = dict(changed.get(section) or {})
    if value is None:
        items.pop(item_id, None)
    else:
        items[item_id] = copy.deepcopy(dict(value))
    changed[section] = items
    return changed


def describe_change(data: Mapping[str, Any], section: str, item_id: str, removed: bool) -> str:
    """Say in a few words what a change does, for the version's summary."""
    if removed:
        verb = "remove"
    elif item_id in (data.get(section) or {}):
        verb = "change"
    else:
        verb = "add"
    return f"{verb} {section}.{item_id}"


def issue_fields(issues: Iterable[ConfigIssue], *, with_lines: bool = False) -> dict[str, str]:
    """Map issues to {"queues.sales.overflow.after_s": "message"}, as field errors.

    Several issues on one field are joined. With `with_lines`, each message starts with its
    line in the YAML, for a whole document the person wrote themselves.
    """
    fields: dict[str, str] = {}
    for issue in issues:
        key = issue.dotted_path or DOCUMENT_FIELD
        message = f"line {issue.line}: {issue.message}" if with_lines else issue.message
        fields[key] = f"{fields[key]}; {message}" if key in fields else message
    return fields
