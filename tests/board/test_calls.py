"""Holds and resumes made through the console's controls reach the event log and AHT.

The real B2BUA carries a sipp call to a sipp agent phone; the controls the console would use
are the B2BUA's, wrapped by the board's LoggedCallControl.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from board.calls import LoggedCallControl
from board.live import day_start
from board.metrics import Fold
from board.records import CALL_HELD, CALL_RESUMED, EventRecord, Recorder
from router import CallDequeued, QueueSpec
from router.events import Outcome, UnknownCall
from tests.telephony.calls.harness import Phones, Route, closed, passed, switchboard
from tests.telephony.conftest import WAIT

SALES = QueueSpec(id="sales", offer_timeout_s=5.0, wrap_up_s=30.0)


def answered(event: CallDequeued) -> bool:
    return event.outcome is Outcome.ANSWERED


async def test_holds_through_the_console_controls_are_logged_and_count_as_hold(
    tmp_path: Path,
) -> None:
    records: list[EventRecord] = []
    async with switchboard(tmp_path, [SALES], {"a1": "alice"}, {"5000": Route("sales")}) as sb:
        engine = sb.runtime.engine
        sb.runtime.subscribe(Recorder(time.time, lambda: {"sales": SALES}, [records.extend]))
        control = LoggedCallControl(sb.b2bua, records.extend, time.time, engine.call_agent)
        phones = Phones(sb)
        agent = await phones.agent("alice", "agent_held_and_resumed.xml")
        sb.ready("a1")
        caller = await phones.caller("caller_hangs_up.xml", "5000")
        call_id = (await sb.events.wait(CallDequeued, answered)).call_id
        call = sb.b2bua.call(call_id)
        assert call is not None
        control.hold(call_id)
        await asyncio.wait_for(call.settled.wait(), WAIT)  # the agent's phone took a=inactive
        control.resume(call_id)
        await asyncio.wait_for(call.settled.wait(), WAIT)  # ...and a=sendrecv
        await passed(caller)
        await passed(agent)
        await closed(sb, call_id)
        with pytest.raises(UnknownCall):
            control.hold(call_id)  # refused by the call layer: nothing logged
        sb.runtime.act(lambda now: engine.wrap_up_done("a1", now))

    mine = [r for r in records if r.call_id == call_id]
    held, resumed = (next(r for r in mine if r.kind == kind) for kind in (CALL_HELD, CALL_RESUMED))
    assert [r.kind for r in mine].count(CALL_HELD) == 1
    assert (held.agent_id, resumed.agent_id) == ("a1", "a1")
    fold = Fold(86_400)
    fold.apply_all(records)
    totals = fold.queues[("sales", day_start(held.at))]
    assert totals.handled == 1
    assert totals.hold_s == pytest.approx(resumed.at - held.at)
    start = next(r.at for r in mine if r.kind == "call_dequeued")
    end = next(r.at for r in mine if r.kind == "call_finished")
    assert totals.talk_s + totals.hold_s == pytest.approx(end - start)
