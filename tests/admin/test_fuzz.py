"""Any JSON an admin (or a script) sends is either a valid config or a list of field issues."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin.arrivals import calls_from_log
from admin.editing import SECTIONS, issue_fields
from admin.service import ConfigService
from admin.versions import VersionStore
from board.records import EventRecord
from config.loader import load_config
from config.schema import ContactCentreConfig
from config.schema_types import EXPECTED  # noqa: F401  (the schema's error type is loaded)
from tests.admin.support import EXAMPLE

CONFIG = load_config(EXAMPLE)
KEYS = [
    "name",
    "strategy",
    "skills",
    "service_level",
    "overflow",
    "queues",
    "dnis",
    "queue",
    "hours",
    "timezone",
    "weekly",
    "sip_username",
    "bullseye",
    "after_s",
    "to",
    "limits",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["sales", "support", "longest_idle", "09:00-17:00", "+441632960100"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
items = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)


def service() -> ConfigService:
    # Only `propose` is used: it needs no database.
    return ConfigService(VersionStore(None, lambda: None), lambda _: None, CONFIG, "x")  # type: ignore[arg-type]


PROPOSER = service()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    section=st.sampled_from(SECTIONS),
    item_id=st.sampled_from(["sales", "support", "new_one", "bad id", ""]) | st.text(max_size=8),
    value=items,
)
def test_any_item_is_a_config_or_field_issues(section: str, item_id: str, value: Any) -> None:
    result = PROPOSER.propose(section, item_id, value)
    if isinstance(result, ContactCentreConfig):
        return
    assert result, "a refusal names at least one issue"
    fields = issue_fields(result)
    assert all(message for message in fields.values())


records = st.builds(
    EventRecord,
    at=st.floats(0, 1e6, allow_nan=False),
    kind=st.sampled_from(["call_queued", "offer", "call_dequeued", "call_finished", "other"]),
    call_id=st.none() | st.sampled_from(["a", "b", "c"]),
    agent_id=st.none(),
    queue_id=st.none() | st.sampled_from(["sales", "support"]),
    data=st.fixed_dictionaries(
        {"outcome": st.sampled_from(["answered", "abandoned", "overflowed", 3, None])}
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(records, max_size=25))
def test_any_log_gives_callers_in_order_with_sane_times(logged: list[EventRecord]) -> None:
    logged.sort(key=lambda record: record.at)
    calls = calls_from_log(logged)
    assert len(calls) == len({r.call_id for r in logged if r.call_id and r.queue_id})
    assert [c.arrival_s for c in calls] == sorted(c.arrival_s for c in calls)
    assert all(c.arrival_s >= 0 and c.patience_s >= 0 and c.handle_s >= 0 for c in calls)
