"""End to end over real SIP (sipp phones and callers) with the console and board live.

The VIP call with the agent in Chromium is in test_browser_call.py.

The centre is tests/e2e/centre.py: create_app(Settings(...)), the composition root itself.
Consoles and the board are held over their websockets, as their pages hold them.
"""

from __future__ import annotations

from pathlib import Path

from router import AgentState, CallFinished, Offer
from router.events import AgentStateChanged, CallDequeued, OfferTimedOut, Outcome
from tests.e2e.centre import DIALLED, Browserless, call_centre
from tests.telephony.calls.harness import Phones, closed, passed


async def test_a_caller_hanging_up_while_queued_shows_on_the_board_and_in_the_log(
    tmp_path: Path,
) -> None:
    sales = {"offer_timeout_s": 10.0, "wrap_up_s": 5.0}
    async with call_centre(tmp_path, sales, {"a1": "alice"}) as centre:
        supervisor = Browserless(centre.url, "sam")
        await supervisor.open("/supervisor/board/ws")
        try:
            # Nobody is Ready: the caller waits, hears ringing, then hangs up (CANCEL).
            caller = await Phones(centre).caller("caller_cancels.xml", DIALLED)
            await passed(caller)
            dequeued = await centre.events.wait(CallDequeued)
            assert dequeued.outcome is Outcome.ABANDONED
            await closed(centre, dequeued.call_id)

            def abandoned_on_board(frame: dict[str, object]) -> bool:
                queues = frame.get("queues")
                return isinstance(queues, list) and any(
                    q["id"] == "sales" and q["offered"] == 1 and q["abandon_rate"] == 1.0
                    for q in queues
                )

            shown = await supervisor.wait_for(abandoned_on_board)
            [queue] = [q for q in shown["queues"] if q["id"] == "sales"]
            assert queue["waiting"] == 0
        finally:
            await supervisor.close()
        records = await centre.flushed_records()
        mine = [r for r in records if r.call_id == dequeued.call_id]
        kinds = [r.kind for r in mine]
        assert kinds[0] == "call_queued"
        [left] = [r for r in mine if r.kind == "call_dequeued"]
        assert left.data["outcome"] == "abandoned"


async def test_rona_then_the_next_agent_gets_the_call_and_the_pop(tmp_path: Path) -> None:
    # a1's phone rings unanswered for 1.5 s; a2's answers at once.
    sales = {"offer_timeout_s": 1.5, "wrap_up_s": 30.0, "rona_max_misses": 1}
    phones = {"a1": "alice", "a2": "bob"}
    async with call_centre(tmp_path, sales, phones) as centre:
        consoles = {agent: Browserless(centre.url, agent) for agent in phones}
        for console in consoles.values():
            await console.open("/agent/console/ws")
        try:
            sip = Phones(centre)
            silent = await sip.agent("alice", "agent_no_answer.xml")
            answering = await sip.agent("bob", "agent_answers.xml")
            centre.ready("a1", "a2")  # a1 has been idle longest: offered the call first
            caller = await sip.caller("caller_hangs_up.xml", DIALLED)
            [incoming] = [await centre.events.wait(Offer, lambda o: o.agent_id == "a1")]
            call_id = incoming.call_id

            def pop_of_the_call(frame: dict[str, object]) -> bool:
                pop = frame.get("pop")
                return (
                    frame.get("kind") == "pop"
                    and isinstance(pop, dict)
                    and (pop.get("call_id") == call_id)
                )

            # Each agent the call is offered to gets its pop on the console.
            await consoles["a1"].wait_for(pop_of_the_call)
            await consoles["a2"].wait_for(pop_of_the_call)
            await passed(silent)  # it rang, got the CANCEL, answered 487 and got its ACK
            await passed(caller)
            await passed(answering)
            await closed(centre, call_id)
        finally:
            for console in consoles.values():
                await console.close()
        assert [o.agent_id for o in centre.events.of(Offer)] == ["a1", "a2"]
        [missed] = centre.events.of(OfferTimedOut)
        assert missed.agent_id == "a1"
        assert centre.events.of(CallFinished) == [CallFinished(call_id, "a2")]
        states = [e.new for e in centre.events.of(AgentStateChanged) if e.agent_id == "a1"]
        assert states[-1] is AgentState.NOT_READY
        # The board's event log has the miss and the answer.
        records = await centre.flushed_records()
        kinds = [r.kind for r in records if r.call_id == call_id]
        assert "offer_timed_out" in kinds and "call_finished" in kinds
