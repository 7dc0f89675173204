"""Queue limits send callers to their destination: full queue, max wait, nobody logged in."""

from __future__ import annotations

import pytest

from router import (
    REFUSE,
    CallDequeued,
    Destination,
    DestinationKind,
    Outcome,
    Overflowed,
    QueueSpec,
)
from tests.router.helpers import agent, call, engine, of, offers, ready

VOICEMAIL = Destination(DestinationKind.VOICEMAIL, "box")
CALLBACK = Destination(DestinationKind.CALLBACK, "list")
BUSY = Destination(DestinationKind.REFUSE, sip_status=486)


def test_full_queue_sends_the_next_caller_to_its_destination() -> None:
    e = engine([QueueSpec("q", max_queue_length=2, on_queue_full=BUSY)], [agent("a1", ["q"])])
    e.agent_login("a1", 0)
    for i in range(2):
        assert not of(Overflowed, e.call_arrived(call(f"c{i}", "q", i), i))
    events = e.call_arrived(call("c2", "q", 3), 3)
    (over,) = of(Overflowed, events)
    assert (over.call_id, over.destination) == ("c2", BUSY)
    assert "limit 2" in str(over.reason)
    assert "c2" not in e.call_ids()


def test_full_queue_does_not_stop_a_caller_an_idle_agent_can_take() -> None:
    e = engine([QueueSpec("q", max_queue_length=0)], [agent("a1", ["q"])])
    ready(e, "a1")
    assert offers(e.call_arrived(call("c", "q", 1), 1)) == [("c", "a1")]


@pytest.mark.parametrize("dest", [VOICEMAIL, CALLBACK, REFUSE])
def test_max_wait_overflows_at_the_deadline(dest: Destination) -> None:
    e = engine([QueueSpec("q", max_wait_s=60, on_max_wait=dest)], [agent("a1", ["q"])])
    e.agent_login("a1", 0)
    e.call_arrived(call("c", "q", 5), 5)
    assert e.next_deadline() == 65
    events = e.advance(65)
    (over,) = of(Overflowed, events)
    assert over.destination == dest
    (left,) = of(CallDequeued, events)
    assert (left.outcome, left.waited_s) == (Outcome.OVERFLOWED, 60)


def test_max_wait_to_another_queue_keeps_the_caller_in_the_engine() -> None:
    sales = QueueSpec(
        "sales", max_wait_s=30, on_max_wait=Destination(DestinationKind.QUEUE, "backup")
    )
    backup = QueueSpec("backup")
    e = engine([sales, backup], [agent("s", ["sales"]), agent("b", ["backup"])])
    e.agent_login("s", 0)
    e.agent_login("b", 0)
    e.call_arrived(call("c", "sales", 0), 0)
    e.advance(30)
    assert e.queue_snapshot("backup", 30).waiting == 1
    assert offers(e.agent_ready("b", 31)) == [("c", "b")]


def test_an_overflow_loop_is_refused_instead_of_spinning() -> None:
    to_b = Destination(DestinationKind.QUEUE, "b")
    to_a = Destination(DestinationKind.QUEUE, "a")
    qa = QueueSpec("a", max_wait_no_agents_s=0, on_no_agents=to_b)
    qb = QueueSpec("b", max_wait_no_agents_s=0, on_no_agents=to_a)
    e = engine([qa, qb], [])
    events = e.call_arrived(call("c", "a", 0), 0)
    final = of(Overflowed, events)[-1]
    assert final.destination.kind is DestinationKind.REFUSE
    assert "hops" in final.reason.why
    assert len(of(CallDequeued, events)) == len(of(Overflowed, events))


@pytest.mark.parametrize("limit", [0.0, 20.0])
def test_no_agent_logged_in_limit_counts_from_arrival(limit: float) -> None:
    e = engine(
        [QueueSpec("q", max_wait_no_agents_s=limit, on_no_agents=VOICEMAIL)], [agent("a1", ["q"])]
    )
    events = e.call_arrived(call("c", "q", 1), 1)
    if limit:
        assert not of(Overflowed, events)
        assert e.next_deadline() == 1 + limit
        events = e.advance(1 + limit)
    assert [o.destination for o in of(Overflowed, events)] == [VOICEMAIL]


def test_no_agent_limit_counts_from_when_the_last_agent_logged_out() -> None:
    e = engine(
        [QueueSpec("q", max_wait_no_agents_s=20, on_no_agents=VOICEMAIL)], [agent("a1", ["q"])]
    )
    e.agent_login("a1", 0)
    e.call_arrived(call("early", "q", 0), 0)
    e.agent_logout("a1", 50)
    e.call_arrived(call("late", "q", 60), 60)
    assert [o.call_id for o in of(Overflowed, e.advance(70))] == ["early"]
    assert [o.call_id for o in of(Overflowed, e.advance(80))] == ["late"]


def test_a_login_stops_the_no_agent_clock() -> None:
    e = engine(
        [QueueSpec("q", max_wait_no_agents_s=20, on_no_agents=VOICEMAIL)], [agent("a1", ["q"])]
    )
    e.call_arrived(call("c", "q", 0), 0)
    e.agent_login("a1", 10)
    assert e.advance(100) == []
    assert e.position("c") == 1


BACKUP = Destination(DestinationKind.QUEUE, "backup")


def limited(limit: str, dest: Destination) -> QueueSpec:
    """A queue with one limit, sending its callers to `dest`."""
    if limit == "max_length":
        return QueueSpec("q", max_queue_length=1, on_queue_full=dest)
    if limit == "max_wait":
        return QueueSpec("q", max_wait_s=30, on_max_wait=dest)
    return QueueSpec("q", max_wait_no_agents_s=10, on_no_agents=dest)


@pytest.mark.parametrize("dest", [VOICEMAIL, CALLBACK, BUSY, BACKUP], ids=lambda d: d.kind)
@pytest.mark.parametrize("limit", ["max_length", "max_wait", "no_agents"])
def test_every_limit_sends_to_every_kind_of_destination(limit: str, dest: Destination) -> None:
    e = engine(
        [limited(limit, dest), QueueSpec("backup")], [agent("a", ["q"]), agent("b", ["backup"])]
    )
    if limit != "no_agents":
        e.agent_login("a", 0)  # logged in, not ready: callers wait
    e.agent_login("b", 0)
    e.call_arrived(call("first", "q", 0), 0)
    events = e.call_arrived(call("c", "q", 1), 1) + e.advance(100)
    sent = [o for o in of(Overflowed, events) if o.call_id == "c"]
    assert [o.destination for o in sent] == [dest]
    (left,) = [d for d in of(CallDequeued, events) if d.call_id == "c"]
    assert left.outcome is Outcome.OVERFLOWED
    if dest is BACKUP:
        # Another queue keeps the caller routable, behind "first" if that was sent on too.
        ahead = 0 if limit == "max_length" else 1
        assert e.queue_snapshot("backup", 100).waiting == ahead + 1
        assert e.position("c") == ahead + 1
    else:
        assert not e.has_call("c")
