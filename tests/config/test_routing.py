"""The routing service on the example contact centre, with the real engine and a manual clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from config.loader import load_config, validate_document
from config.routing import NO_ROUTE, UNAVAILABLE, RoutingService, loop_call_at, loop_time
from config.schema import ContactCentreConfig
from router import AgentState, Event, Offer, OfferTimedOut
from router.intake import Enqueued, IncomingCall, Redirected, Refused
from tests.config.helpers import EXAMPLE
from tests.router.test_runtime import ManualLoop

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # London is on UTC in November
SUNDAY_10 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # uk_office and billing_desk closed
SALES = "+441632960100"
SUPPORT = "+441632960200"
VIP = "+441632960300"
VIP_INES = "+441632960301"
BILLING = "+441632960400"
FREEPHONE = "08081570100"


def service(
    loop: ManualLoop, at: datetime = MONDAY_10, config: ContactCentreConfig | None = None
) -> RoutingService:
    return RoutingService(
        config or load_config(EXAMPLE), loop.clock, loop.call_at, wall_clock=lambda: at
    )


def variant(old: str, new: str) -> ContactCentreConfig:
    """Return the example config with one piece of its text replaced."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    result = validate_document(text.replace(old, new), "example.yaml")
    assert isinstance(result, ContactCentreConfig), result
    return result


def ready(routing: RoutingService, *agent_ids: str) -> None:
    for agent_id in agent_ids:
        routing.runtime.act(lambda now, a=agent_id: routing.engine.agent_login(a, now))
        routing.runtime.act(lambda now, a=agent_id: routing.engine.agent_ready(a, now))


def incoming(call_id: str, dnis: str) -> IncomingCall:
    return IncomingCall(call_id=call_id, ani="+447700900123", dnis=dnis)


def collect(routing: RoutingService) -> list[Event]:
    seen: list[Event] = []
    routing.runtime.subscribe(seen.extend)
    return seen


def test_an_open_route_enqueues_the_call_and_runs_the_arrival_hooks() -> None:
    routing = service(ManualLoop())
    hooked: list[tuple[str, str]] = []
    routing.on_arrival(lambda call, queue_id: hooked.append((call.call_id, queue_id)))
    admission = routing.admit(incoming("c1", SUPPORT))
    assert admission == Enqueued("support", redirect=False, reason="open")
    assert routing.engine.position("c1") == 1
    assert hooked == [("c1", "support")]


def test_a_caller_a_queue_limit_sends_away_at_once_is_refused_not_enqueued() -> None:
    routing = service(ManualLoop())  # nobody is logged in for sales: its limit is 0 s
    hooked: list[str] = []
    routing.on_arrival(lambda call, _queue_id: hooked.append(call.call_id))
    admission = routing.admit(incoming("c1", SALES))
    assert isinstance(admission, Refused) and admission.sip_status == UNAVAILABLE
    assert "no agent logged in" in admission.reason
    assert "voicemail sales is not available yet" in admission.reason
    assert not routing.engine.has_call("c1")
    assert hooked == []


def test_a_redirect_route_says_so() -> None:
    routing = service(ManualLoop())
    assert routing.admit(incoming("c1", BILLING)) == Enqueued("billing", True, "open")


def test_an_unknown_number_is_refused_with_404() -> None:
    routing = service(ManualLoop())
    admission = routing.admit(incoming("c1", "+10000000000"))
    assert isinstance(admission, Refused) and admission.sip_status == NO_ROUTE
    assert not routing.engine.has_call("c1")


@pytest.mark.parametrize(
    ("dnis", "expected"),
    [
        (SUPPORT, Redirected("sip:support@night-desk.northwind.example")),
        (FREEPHONE, Refused(480)),
        (SALES, Refused(UNAVAILABLE)),  # voicemail is configured but does not exist yet
        (BILLING, Refused(UNAVAILABLE)),  # callback requests neither
    ],
)
def test_a_closed_route_sends_the_call_to_its_out_of_hours_destination(
    dnis: str, expected: Redirected | Refused
) -> None:
    routing = service(ManualLoop(), at=SUNDAY_10)
    admission = routing.admit(incoming("c1", dnis))
    assert type(admission) is type(expected)
    if isinstance(admission, Refused):
        assert isinstance(expected, Refused)
        assert admission.sip_status == expected.sip_status
        assert "closed" in admission.reason
    else:
        assert isinstance(admission, Redirected) and isinstance(expected, Redirected)
        assert admission.uri == expected.uri
    assert not routing.engine.has_call("c1")


def test_the_voicemail_refusal_names_what_is_missing() -> None:
    routing = service(ManualLoop(), at=SUNDAY_10)
    admission = routing.admit(incoming("c1", SALES))
    assert isinstance(admission, Refused)
    assert "voicemail is not available yet" in admission.reason


def test_a_closed_route_to_a_queue_enqueues_there() -> None:
    config = variant("out_of_hours: {voicemail: sales}", "out_of_hours: {queue: support}")
    routing = service(ManualLoop(), at=SUNDAY_10, config=config)
    admission = routing.admit(incoming("c1", SALES))
    assert isinstance(admission, Enqueued) and admission.queue_id == "support"
    assert routing.engine.position("c1") == 1


def test_a_caller_overflowed_to_another_queue_on_arrival_is_enqueued_there() -> None:
    config = variant(
        "no_agents: {after_s: 0, to: {voicemail: sales}}",
        "no_agents: {after_s: 0, to: {queue: support}}",
    )
    routing = service(ManualLoop(), config=config)
    admission = routing.admit(incoming("c1", SALES))
    assert isinstance(admission, Enqueued) and admission.queue_id == "support"
    assert "no agent logged in" in admission.reason
    assert routing.engine.position("c1") == 1


def test_a_route_with_a_preferred_agent_waits_for_that_agent() -> None:
    routing = service(ManualLoop())
    ready(routing, "jakub.nowak")
    routing.runtime.act(lambda now: routing.engine.agent_login("ines.moreau", now))
    seen = collect(routing)
    routing.admit(incoming("for-ines", VIP_INES))
    assert [e for e in seen if isinstance(e, Offer)] == []
    routing.runtime.act(lambda now: routing.engine.agent_ready("ines.moreau", now))
    assert [(e.call_id, e.agent_id) for e in seen if isinstance(e, Offer)] == [
        ("for-ines", "ines.moreau")
    ]
    routing.admit(incoming("anyone", VIP))
    assert routing.engine.call_agent("anyone") == "jakub.nowak"


def test_the_offer_timeout_fires_from_the_loops_timer() -> None:
    loop = ManualLoop()
    routing = service(loop)
    ready(routing, "jakub.nowak")
    seen = collect(routing)
    routing.admit(incoming("c1", VIP))
    loop.run_until(12)  # vip_care's offer timeout
    assert [e.agent_id for e in seen if isinstance(e, OfferTimedOut)] == ["jakub.nowak"]


def test_a_call_admitted_twice_is_refused_the_second_time() -> None:
    routing = service(ManualLoop())
    routing.admit(incoming("c1", SUPPORT))
    admission = routing.admit(incoming("c1", SUPPORT))
    assert isinstance(admission, Refused) and admission.sip_status == 500


def test_a_failing_arrival_hook_does_not_undo_the_admission(
    caplog: pytest.LogCaptureFixture,
) -> None:
    routing = service(ManualLoop())

    def broken(call: IncomingCall, queue_id: str) -> None:
        raise RuntimeError("CRM down")

    routing.on_arrival(broken)
    assert isinstance(routing.admit(incoming("c1", SUPPORT)), Enqueued)
    assert routing.engine.has_call("c1")
    assert "arrival hook failed for call c1" in caplog.text
    assert "+447700900123" not in caplog.text  # no caller numbers in logs


def test_a_late_customer_lookup_moves_a_waiting_caller() -> None:
    routing = service(ManualLoop())
    routing.admit(incoming("first", SUPPORT))
    routing.admit(incoming("second", SUPPORT))
    assert routing.engine.position("second") == 2
    routing.customer_identified("second", "platinum", "cust-7", None)
    assert routing.engine.position("second") == 1


def test_agent_sip_usernames_come_from_the_config_in_force() -> None:
    routing = service(ManualLoop())
    assert routing.agent_sip_username("ines.moreau") == "1009"
    assert routing.agent_sip_username("nobody") is None


def test_apply_swaps_routes_and_queues_while_a_waiting_caller_keeps_its_place() -> None:
    loop = ManualLoop()
    routing = service(loop)
    routing.admit(incoming("first", SUPPORT))
    routing.admit(incoming("second", SUPPORT))
    new_number = "+441632960999"
    config = variant('dnis: "+441632960200"', f'dnis: "{new_number}"')
    routing.apply(config)
    assert routing.config is config
    assert routing.engine.position("first") == 1
    assert routing.engine.position("second") == 2
    assert isinstance(routing.admit(incoming("third", new_number)), Enqueued)
    refused = routing.admit(incoming("fourth", SUPPORT))
    assert isinstance(refused, Refused) and refused.sip_status == NO_ROUTE


def test_apply_keeps_agents_logged_in_and_changes_queue_rules() -> None:
    routing = service(ManualLoop())
    ready(routing, "jakub.nowak")
    config = variant("offer_timeout_s: 12", "offer_timeout_s: 30")
    routing.apply(config)
    assert routing.engine.agent_snapshot("jakub.nowak").state is AgentState.READY
    assert {q.id: q.offer_timeout_s for q in routing.queues()}["vip_care"] == 30


async def test_on_the_event_loop_a_ring_no_answer_fires_by_itself() -> None:
    config = variant("offer_timeout_s: 12", "offer_timeout_s: 0.05")
    routing = RoutingService(config, loop_time, loop_call_at, wall_clock=lambda: MONDAY_10)
    ready(routing, "jakub.nowak")
    timed_out = asyncio.Event()
    routing.runtime.subscribe(
        lambda events: any(isinstance(e, OfferTimedOut) for e in events) and timed_out.set()
    )
    routing.admit(incoming("c1", VIP))
    await asyncio.wait_for(timed_out.wait(), timeout=5)
    assert routing.engine.agent_snapshot("jakub.nowak").reason_code == "missed"
    routing.runtime.close()
