"""The external CRM adapter against a real HTTP server, including the ways such servers fail."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.budget import BudgetedDirectory
from crm_bridge.config import HttpCrmConfig
from crm_bridge.errors import CrmUnavailable, CustomerNotFound, InvalidInput
from crm_bridge.http_adapter import HttpCrmDirectory
from crm_bridge.interface import (
    CallOutcome,
    CaseUpdate,
    FollowUp,
    LookupStatus,
    NewCustomer,
    ValueTier,
)
from tests.crm.fake_crm import FakeCrm
from tests.ports import free_port

TIERS = {"VIP": "platinum", "Key Account": "gold"}


@pytest.fixture
async def crm(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> AsyncIterator[tuple[FakeCrm, str]]:
    fake = FakeCrm()
    server = await aiohttp_server(fake.app())
    yield fake, str(server.make_url("/")).rstrip("/")
    fake.release.set()


def config(base_url: str, **changes: Any) -> HttpCrmConfig:
    return HttpCrmConfig(
        base_url=base_url,
        headers={"Authorization": "Bearer test-token"},
        tier_values=TIERS,
        **changes,
    )


@pytest.fixture
async def adapter(crm: tuple[FakeCrm, str]) -> AsyncIterator[HttpCrmDirectory]:
    directory = HttpCrmDirectory(config(crm[1]), default_region="GB")
    yield directory
    await directory.close()


@pytest.fixture
async def budgeted(adapter: HttpCrmDirectory) -> BudgetedDirectory:
    return BudgetedDirectory(adapter, lookup_budget_s=0.15, view_budget_s=0.3, default_region="GB")


async def test_lookup_by_national_number(adapter: HttpCrmDirectory) -> None:
    result = await adapter.lookup("020 7946 0958")
    assert result.status is LookupStatus.MATCHED
    assert result.matched_by == "ani"
    assert result.customer is not None
    assert result.customer.customer_id == "003Dn00000AdaB1"
    assert result.customer.name == "Ada Byron"
    assert result.customer.tier is ValueTier.PLATINUM
    assert result.customer.company == "Acme Ltd"
    assert result.customer.account_number == "ACME-0001"
    assert result.customer.owner_agent == "alice"


async def test_shared_number_gives_candidates_and_best_tier(adapter: HttpCrmDirectory) -> None:
    result = await adapter.lookup("+44 20 7946 0000")
    assert result.status is LookupStatus.CANDIDATES
    assert [c.customer_id for c in result.candidates] == ["003Dn00000ChB22", "003Dn00000AdaB3"]
    assert [c.tier for c in result.candidates] == [ValueTier.GOLD, ValueTier.STANDARD]
    assert result.tier is ValueTier.GOLD


async def test_unknown_number_and_id_and_account(adapter: HttpCrmDirectory) -> None:
    unknown = await adapter.lookup("020 7946 0111")
    assert unknown.status is LookupStatus.UNKNOWN
    assert unknown.number == "+442079460111"
    assert unknown.degraded is None
    # A stale X-Customer-Id (404) falls through to the number.
    by_number = await adapter.lookup("020 7946 0958", customer_id="003Dn00000Gone0")
    assert by_number.matched_by == "ani"
    by_id = await adapter.lookup(None, customer_id="003Dn00000ChB22")
    assert (by_id.matched_by, by_id.customer_id) == ("customer_id", "003Dn00000ChB22")
    by_account = await adapter.lookup(None, account="ACME-0002")
    assert (by_account.matched_by, by_account.customer_id) == ("account", "003Dn00000ChB22")


async def test_customer_360_with_activities(adapter: HttpCrmDirectory) -> None:
    view = await adapter.customer_360("003Dn00000AdaB1")
    assert view.customer.name == "Ada Byron"
    assert view.numbers == ("+442079460958", "+447700900123")
    assert view.emails == ("ada@acme.example",)
    assert view.notes == "Prefers email follow-ups."
    assert view.value.tier is ValueTier.PLATINUM
    first, second = view.recent_interactions
    assert (first.interaction_id, first.channel, first.direction) == (
        "00TDn0000Act02",
        "email",
        "outbound",
    )
    assert first.started_at == datetime(2026, 5, 30, 9, 15, tzinfo=UTC)
    assert (second.talk_seconds, second.hold_seconds, second.wrap_seconds) == (420, 30, 60)
    assert second.recording_ref == "https://recordings.example/r/881.wav"
    with pytest.raises(CustomerNotFound):
        await adapter.customer_360("003Dn00000Gone0")


async def test_record_outcome_posts_the_mapped_activity(
    crm: tuple[FakeCrm, str], adapter: HttpCrmDirectory
) -> None:
    fake, _ = crm
    started = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    activity_id = await adapter.record_outcome(
        CallOutcome(
            customer_id="003Dn00000AdaB1",
            started_at=started,
            agent="alice",
            queue="support",
            outcome="callback",
            disposition="billing",
            notes="Will call back with the credit note.",
            talk_seconds=200,
            hold_seconds=10,
            wrap_seconds=25,
            recording_ref="rec/77.wav",
            case=CaseUpdate(subject="Credit note", kind="complaint"),
            follow_up=FollowUp(due_at=started + timedelta(days=1), note="credit note"),
        )
    )
    assert activity_id == "00TDn0000New01"
    ((contact_id, body),) = fake.posted
    assert contact_id == "003Dn00000AdaB1"
    attributes = body["data"]["attributes"]
    assert attributes["channel"] == "phone"
    assert attributes["occurred_at"] == "2026-06-01T12:00:00+00:00"
    assert (attributes["agent"], attributes["queue"]) == ("alice", "support")
    assert (attributes["outcome"], attributes["disposition"]) == ("callback", "billing")
    assert attributes["talk_seconds"] == 200
    assert attributes["recording_url"] == "rec/77.wav"
    assert attributes["case"]["subject"] == "Credit note"
    assert attributes["follow_up"] == {
        "due_at": "2026-06-02T12:00:00+00:00",
        "note": "credit note",
        "agent": "alice",
    }
    with pytest.raises(CustomerNotFound):
        await adapter.record_outcome(
            CallOutcome(customer_id="nobody", started_at=started, agent="alice")
        )


async def test_create_customer_posts_the_mapped_contact(
    crm: tuple[FakeCrm, str], adapter: HttpCrmDirectory
) -> None:
    fake, _ = crm
    new_id = await adapter.create_customer(
        NewCustomer(name="Mary Ann Evans", numbers=("07700 900999",), emails=("Mae@X.example",))
    )
    assert new_id == "003Dn00000New01"
    ((_, body),) = fake.posted
    attributes = body["data"]["attributes"]
    assert (attributes["first_name"], attributes["last_name"]) == ("Mary Ann", "Evans")
    assert attributes["phones"] == [{"number": "+447700900999"}]
    assert attributes["emails"] == [{"address": "mae@x.example"}]


async def test_values_are_encoded_into_url_templates(
    crm: tuple[FakeCrm, str], adapter: HttpCrmDirectory
) -> None:
    # A hostile id must not walk to another path on the CRM.
    with pytest.raises(CustomerNotFound):
        await adapter.customer_360("../contacts/003Dn00000AdaB1")


async def test_hanging_crm_degrades_to_unknown_within_the_budget(
    crm: tuple[FakeCrm, str], budgeted: BudgetedDirectory
) -> None:
    fake, _ = crm
    fake.mode = "hang"
    result = await budgeted.lookup("020 7946 0958")
    assert result.status is LookupStatus.UNKNOWN
    assert result.degraded == "timeout"
    assert result.number == "+442079460958"
    assert result.tier is ValueTier.STANDARD
    with pytest.raises(CrmUnavailable):
        await budgeted.customer_360("003Dn00000AdaB1")


async def test_adapter_timeout_raises_crm_unavailable(crm: tuple[FakeCrm, str]) -> None:
    fake, base = crm
    fake.mode = "hang"
    directory = HttpCrmDirectory(config(base, timeout_s=0.2), default_region="GB")
    try:
        with pytest.raises(CrmUnavailable, match="Timeout"):
            await directory.lookup("020 7946 0958")
    finally:
        await directory.close()


@pytest.mark.parametrize(
    "mode",
    [
        "http500",
        "html",
        "truncated",
        ["not", "an", "object"],
        {"data": "not a list"},
        {"results": []},
        {"data": [{"attributes": {"first_name": "No id"}}]},
        {"data": [{"id": "1", "attributes": {"first_name": {"nested": "object"}}}]},
        {"data": [42]},
    ],
)
async def test_errors_and_garbage_degrade_to_unknown(
    crm: tuple[FakeCrm, str],
    adapter: HttpCrmDirectory,
    budgeted: BudgetedDirectory,
    mode: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, _ = crm
    fake.mode = mode
    with pytest.raises(CrmUnavailable):
        await adapter.lookup("020 7946 0958")
    with caplog.at_level(logging.INFO):
        result = await budgeted.lookup("020 7946 0958")
    assert result.status is LookupStatus.UNKNOWN
    assert result.degraded == "error"
    assert result.number == "+442079460958"
    assert caplog.records, "the failure is logged"
    logged = caplog.text
    for secret in ("7946", "Ada", "Byron", "No id"):
        assert secret not in logged


async def test_unreachable_crm_degrades_to_unknown() -> None:
    port = free_port()  # nothing listens there: connection refused
    directory = HttpCrmDirectory(config(f"http://127.0.0.1:{port}"), default_region="GB")
    budgeted = BudgetedDirectory(
        directory, lookup_budget_s=0.15, view_budget_s=0.3, default_region="GB"
    )
    try:
        result = await budgeted.lookup("020 7946 0958")
    finally:
        await budgeted.close()
    assert (result.status, result.degraded) == (LookupStatus.UNKNOWN, "error")


async def test_unauthorised_is_an_error_not_an_unknown_caller(crm: tuple[FakeCrm, str]) -> None:
    _, base = crm
    directory = HttpCrmDirectory(HttpCrmConfig(base_url=base), default_region="GB")
    try:
        with pytest.raises(CrmUnavailable, match="401"):
            await directory.lookup("020 7946 0958")
    finally:
        await directory.close()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["data", "id", "attributes", "first_name", "phones", "number", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(JSON)
def test_any_json_reads_as_customers_or_a_clean_error(document: Any) -> None:
    directory = HttpCrmDirectory(config("http://crm.invalid"), default_region="GB")
    try:
        found = directory.parse_search(document)
    except CrmUnavailable:
        return
    assert all(c.customer_id for c in found)


async def test_external_crm_needs_a_customer_for_an_outcome(adapter: HttpCrmDirectory) -> None:
    with pytest.raises(InvalidInput, match="customer_id"):
        await adapter.record_outcome(
            CallOutcome(
                customer_id=None,
                caller_number="+447700900123",
                started_at=datetime(2026, 6, 1, tzinfo=UTC),
                agent="alice",
            )
        )
