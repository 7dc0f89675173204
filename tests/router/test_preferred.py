"""Preferred agent: a caller waits for its last agent or account owner, then takes anyone."""

from __future__ import annotations

from router import CallQueued, QueueSpec
from tests.router.helpers import agent, call, engine, of, offers, ready

Q = QueueSpec("q", preferred_agent_s=20)


def test_a_free_preferred_agent_gets_the_caller_even_if_others_idled_longer() -> None:
    e = engine([Q], [agent("a1", ["q"]), agent("owner", ["q"])])
    ready(e, "a1", now=0)
    ready(e, "owner", now=5)
    events = e.call_arrived(call("c", "q", 6, preferred_agent_id="owner"), 6)
    assert offers(events) == [("c", "owner")]


def test_the_caller_waits_for_a_busy_preferred_agent_within_the_window() -> None:
    e = engine([Q], [agent("a1", ["q"]), agent("owner", ["q"])])
    ready(e, "a1", now=0)
    e.agent_login("owner", 0)
    events = e.call_arrived(call("c", "q", 1, preferred_agent_id="owner"), 1)
    assert offers(events) == []
    assert "owner" in of(CallQueued, events)[0].reason.why
    assert offers(e.agent_ready("owner", 10)) == [("c", "owner")]


def test_after_the_window_anyone_eligible_takes_the_caller() -> None:
    e = engine([Q], [agent("a1", ["q"]), agent("owner", ["q"])])
    ready(e, "a1", now=0)
    e.agent_login("owner", 0)
    e.call_arrived(call("c", "q", 1, preferred_agent_id="owner"), 1)
    assert e.next_deadline() == 21
    assert offers(e.advance(21)) == [("c", "a1")]


def test_a_logged_out_preferred_agent_is_not_waited_for() -> None:
    e = engine([Q], [agent("a1", ["q"]), agent("owner", ["q"])])
    ready(e, "a1", now=0)
    assert offers(e.call_arrived(call("c", "q", 1, preferred_agent_id="owner"), 1)) == [("c", "a1")]


def test_logout_of_the_preferred_agent_releases_its_callers() -> None:
    e = engine([Q], [agent("a1", ["q"]), agent("owner", ["q"])])
    e.agent_login("owner", 0)
    ready(e, "a1", now=0)
    e.agent_not_ready("a1", "break", 0)
    e.call_arrived(call("c", "q", 1, preferred_agent_id="owner"), 1)
    e.agent_logout("owner", 2)
    assert offers(e.agent_ready("a1", 3)) == [("c", "a1")]


def test_an_unknown_preferred_agent_is_ignored() -> None:
    e = engine([Q], [agent("a1", ["q"])])
    ready(e, "a1")
    assert offers(e.call_arrived(call("c", "q", 1, preferred_agent_id="ghost"), 1)) == [("c", "a1")]
