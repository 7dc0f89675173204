"""Write-back of finished calls: the interaction, its case and follow-up, read back in the 360."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from crm_bridge.errors import CaseNotFound, CustomerNotFound, InvalidInput
from crm_bridge.interface import CallOutcome, CaseUpdate, FollowUp, LookupStatus, NewCustomer
from crm_bridge.sql_read import MAX_RELATIONSHIPS
from crm_bridge.sql_store import SqlDirectory
from tests.crm.conftest import NOW


def outcome(customer_id: str | None, **changes: object) -> CallOutcome:
    values: dict[str, object] = {
        "customer_id": customer_id,
        "started_at": NOW - timedelta(minutes=10),
        "agent": "alice",
        "queue": "support",
        "outcome": "resolved",
        "disposition": "billing-question",
        "notes": "Explained the March invoice; customer happy.",
        "talk_seconds": 312,
        "hold_seconds": 45,
        "wrap_seconds": 30,
        "recording_ref": "rec/2026/06/01/call-77.wav",
        "call_id": "call-77",
    }
    values.update(changes)
    return CallOutcome(**values)  # type: ignore[arg-type]


async def test_round_trip_with_case_and_follow_up(store: SqlDirectory) -> None:
    cid = await store.create_customer(
        NewCustomer(name="Ada Byron", numbers=("020 7946 0958",), emails=("Ada@Example.org",))
    )
    due = NOW + timedelta(days=2)
    first = await store.record_outcome(
        outcome(
            cid,
            case=CaseUpdate(subject="Invoice disputed", kind="complaint", priority="high"),
            follow_up=FollowUp(due_at=due, note="Check the credit note went out"),
        )
    )
    view = await store.customer_360(cid)
    assert view.emails == ("ada@example.org",)
    (call,) = view.recent_interactions
    assert call.interaction_id == first
    assert (call.channel, call.direction) == ("phone", "inbound")
    assert call.started_at == NOW - timedelta(minutes=10)
    assert (call.agent, call.queue) == ("alice", "support")
    assert (call.outcome, call.disposition) == ("resolved", "billing-question")
    assert call.notes == "Explained the March invoice; customer happy."
    assert (call.talk_seconds, call.hold_seconds, call.wrap_seconds) == (312, 45, 30)
    assert call.recording_ref == "rec/2026/06/01/call-77.wav"
    (case,) = view.open_cases
    assert (case.subject, case.kind, case.status, case.priority) == (
        "Invoice disputed",
        "complaint",
        "open",
        "high",
    )
    assert case.owner_agent == "alice"
    assert case.opened_at == NOW
    (reminder,) = view.follow_ups
    assert (reminder.agent, reminder.due_at) == ("alice", due)
    assert reminder.note == "Check the credit note went out"

    second = await store.record_outcome(
        outcome(
            cid,
            started_at=NOW,
            agent="bob",
            notes="Credit note confirmed.",
            case=CaseUpdate(case_id=case.case_id, status="closed", kind="complaint"),
        )
    )
    view = await store.customer_360(cid)
    assert [i.interaction_id for i in view.recent_interactions] == [second, first]
    assert view.open_cases == ()


async def test_last_n_interactions_on_every_channel(store: SqlDirectory) -> None:
    cid = await store.create_customer(NewCustomer(name="Chatty"))
    channels = ["phone", "email", "web", "chat", "fax", "visit"] * 2
    for minute, channel in enumerate(channels):
        await store.record_outcome(
            outcome(cid, channel=channel, started_at=NOW + timedelta(minutes=minute))
        )
    recent = (await store.customer_360(cid)).recent_interactions
    assert len(recent) == 10
    # Newest first: the last ten of the twelve, reversed.
    assert [i.channel for i in recent] == list(reversed(channels[2:]))


async def test_relationships_and_roles_in_the_360(store: SqlDirectory) -> None:
    ada = await store.create_customer(NewCustomer(name="Ada"))
    bob = await store.create_customer(NewCustomer(name="Bob"))
    await store.add_relationship(ada, bob, "referred_by")
    await store.add_company_role(ada, "Initech", "decision_maker")
    ada_view = await store.customer_360(ada)
    bob_view = await store.customer_360(bob)
    assert [(r.kind, r.customer_id, r.name) for r in ada_view.relationships] == [
        ("referred_by", bob, "Bob")
    ]
    assert [(r.kind, r.customer_id, r.name) for r in bob_view.relationships] == [
        ("referred", ada, "Ada")
    ]
    assert [(r.company, r.role) for r in ada_view.roles] == [("Initech", "decision_maker")]
    with pytest.raises(InvalidInput, match="relationship"):
        await store.add_relationship(ada, bob, "enemies")
    with pytest.raises(InvalidInput, match="role"):
        await store.add_company_role(ada, "Initech", "tea_maker")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"talk_seconds": -1}, "talk_seconds"),
        ({"agent": " "}, "agent"),
        ({"notes": "x" * 20_001}, "notes"),
        ({"case": CaseUpdate(subject="")}, "case subject"),
        ({"case": CaseUpdate(subject="s", priority="whenever")}, "case priority"),
    ],
)
async def test_bad_outcomes_are_refused_and_nothing_is_written(
    store: SqlDirectory, changes: dict[str, object], field: str
) -> None:
    cid = await store.create_customer(NewCustomer(name="Careful"))
    with pytest.raises(InvalidInput, match=field):
        await store.record_outcome(outcome(cid, **changes))
    assert (await store.customer_360(cid)).recent_interactions == ()


async def test_unknown_customer_and_foreign_case_are_refused(store: SqlDirectory) -> None:
    with pytest.raises(CustomerNotFound):
        await store.record_outcome(outcome("99999"))
    a = await store.create_customer(NewCustomer(name="A"))
    b = await store.create_customer(NewCustomer(name="B"))
    await store.record_outcome(outcome(a, case=CaseUpdate(subject="A's case")))
    (a_case,) = (await store.customer_360(a)).open_cases
    with pytest.raises(CaseNotFound):
        await store.record_outcome(outcome(b, case=CaseUpdate(case_id=a_case.case_id)))
    # The refused write left no half: no interaction for B, A's case untouched.
    assert (await store.customer_360(b)).recent_interactions == ()
    assert (await store.customer_360(a)).open_cases == (a_case,)


async def test_follow_ups_due_for_an_agent(store: SqlDirectory) -> None:
    cid = await store.create_customer(NewCustomer(name="Callback"))
    for days, agent in ((1, None), (3, None), (1, "bob")):
        await store.record_outcome(
            outcome(
                cid,
                follow_up=FollowUp(due_at=NOW + timedelta(days=days), note=f"d{days}", agent=agent),
            )
        )
    assert await store.follow_ups_due("alice") == ()
    due = await store.follow_ups_due("alice", NOW + timedelta(days=2))
    assert [(f.note, f.customer_id) for f in due] == [("d1", cid)]
    await store.complete_follow_up(due[0].reminder_id)
    assert await store.follow_ups_due("alice", NOW + timedelta(days=2)) == ()
    later = await store.follow_ups_due("alice", NOW + timedelta(days=5))
    assert [f.note for f in later] == ["d3"]
    with pytest.raises(InvalidInput, match="follow-up"):
        await store.complete_follow_up(due[0].reminder_id)


async def test_concurrent_write_backs_all_land(store: SqlDirectory) -> None:
    cid = await store.create_customer(NewCustomer(name="Busy Line"))
    calls = [
        store.record_outcome(outcome(cid, started_at=NOW + timedelta(seconds=n), call_id=f"c{n}"))
        for n in range(8)
    ]
    buys = [store.add_order(cid, 10_000, 4_000, NOW) for _ in range(8)]
    written = await asyncio.gather(*calls, *buys)
    assert len(set(written[:8])) == 8
    view = await store.customer_360(cid)
    assert len(view.recent_interactions) == 8
    # Every order was counted by the rescore that ran last, whichever that was.
    assert view.value.lifetime_margin_cents == 8 * 4_000
    assert view.value.orders_last_year == 8


async def test_unknown_caller_call_is_kept_and_joins_the_new_customer(store: SqlDirectory) -> None:
    unknown = await store.lookup("07700 900777")
    assert unknown.status is LookupStatus.UNKNOWN
    kept = await store.record_outcome(
        outcome(None, caller_number="+44 7700 900777", notes="Asked for a brochure.")
    )
    # Another unknown caller's call stays apart.
    await store.record_outcome(outcome(None, caller_number="07700 900888"))
    cid = await store.create_customer(NewCustomer(name="Brochure Fan", numbers=("07700900777",)))
    (call,) = (await store.customer_360(cid)).recent_interactions
    assert call.interaction_id == kept
    assert call.notes == "Asked for a brochure."


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "caller_number"),
        ({"caller_number": "nonsense"}, "phone number"),
        ({"caller_number": "07700900777", "case": CaseUpdate(subject="s")}, "case"),
        (
            {"caller_number": "07700900777", "follow_up": FollowUp(due_at=NOW)},
            "follow-up",
        ),
    ],
)
async def test_unknown_caller_outcomes_are_checked(
    store: SqlDirectory, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput, match=field):
        await store.record_outcome(outcome(None, **changes))


@pytest.mark.parametrize(
    ("kind", "seen_from_the_other"),
    [("referred_by", "referred"), ("parent_account", "child_account"), ("family", "family")],
)
async def test_each_relationship_reads_from_both_ends(
    store: SqlDirectory, kind: str, seen_from_the_other: str
) -> None:
    child = await store.create_customer(NewCustomer(name="Child Ltd"))
    parent = await store.create_customer(NewCustomer(name="Parent plc"))
    await store.add_relationship(child, parent, kind)
    child_view = await store.customer_360(child)
    parent_view = await store.customer_360(parent)
    assert [(r.kind, r.name) for r in child_view.relationships] == [(kind, "Parent plc")]
    assert [(r.kind, r.name) for r in parent_view.relationships] == [
        (seen_from_the_other, "Child Ltd")
    ]


async def test_a_company_lists_each_contacts_role(store: SqlDirectory) -> None:
    people = {}
    for role in ("decision_maker", "buyer", "user"):
        people[role] = await store.create_customer(NewCustomer(name=f"The {role}"))
        await store.add_company_role(people[role], "Initech", role)
    await store.add_company_role(people["buyer"], "Initech", "user")
    expected = {
        "decision_maker": [("Initech", "decision_maker")],
        "buyer": [("Initech", "buyer"), ("Initech", "user")],  # one person, two roles
        "user": [("Initech", "user")],
    }
    for role, cid in people.items():
        roles = [(r.company, r.role) for r in (await store.customer_360(cid)).roles]
        assert roles == expected[role]


async def test_a_parent_with_many_children_shows_the_first_links_only(store: SqlDirectory) -> None:
    parent = await store.create_customer(NewCustomer(name="Holding plc"))
    children = []
    for n in range(MAX_RELATIONSHIPS + 5):
        children.append(await store.create_customer(NewCustomer(name=f"Branch {n}")))
        await store.add_relationship(children[-1], parent, "parent_account")
    links = (await store.customer_360(parent)).relationships
    assert [r.customer_id for r in links] == children[:MAX_RELATIONSHIPS]
    assert {r.kind for r in links} == {"child_account"}
    last = (await store.customer_360(children[-1])).relationships
    assert [(r.kind, r.customer_id) for r in last] == [("parent_account", parent)]
