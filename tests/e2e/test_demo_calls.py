"""The demo's callers and softphones through the real B2BUA and routing engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from demo.phones import PhoneFleet, PhoneLogin
from demo.traffic import Caller, TrafficGenerator, TrafficPlan
from router import CallFinished, QueueSpec
from router.events import CallDequeued, Outcome
from telephony.sip.transport import Peer
from tests.ports import free_port
from tests.telephony.calls.harness import PASSWORD, Route, switchboard

# pyVoIP's transmitter thread warns when a send races with the socket closing at hang-up.
pytestmark = pytest.mark.filterwarnings("ignore:RTP Packet failed to send:RuntimeWarning")

SALES = QueueSpec(id="sales", offer_timeout_s=10.0, wrap_up_s=0.0, rona_max_misses=1)
CALLERS = {
    "vip": [Caller("vip", "+447700900001", "1")],
    "standard": [Caller("standard", "+447700900101")],
    "unknown": [Caller("unknown", "+447700900999")],
}
WAIT = 60.0  # pyVoIP answers a second after each INVITE; never reached when working


def traffic(port: int, **overrides: object) -> TrafficPlan:
    values: dict[str, object] = {
        "target": Peer("UDP", "127.0.0.1", port),
        "dialled": ["5000"],
        "callers": CALLERS,
        "calls_per_second": 20.0,
        "impatient_share": 0.0,
        "talk_s": 0.5,
        "seed": 2,
    }
    values.update(overrides)
    return TrafficPlan(**values)  # type: ignore[arg-type]


async def test_demo_calls_are_routed_answered_by_softphones_and_finished(
    tmp_path: Path,
) -> None:
    agents = {"a1": "1001", "a2": "1002"}
    async with switchboard(tmp_path, [SALES], agents, {"5000": Route("sales")}) as sb:
        fleet = PhoneFleet(
            [PhoneLogin(agent, user, PASSWORD) for agent, user in agents.items()],
            server_host="127.0.0.1",
            server_port=sb.port,
            answer_after_s=0.1,
            rtp_first_port=free_port() // 2 * 2,
        )
        registered = await asyncio.wait_for(fleet.start(), WAIT)
        try:
            assert sorted(registered.registered) == ["a1", "a2"]
            sb.ready("a1", "a2")
            stats = await asyncio.wait_for(TrafficGenerator(traffic(sb.port)).run(4), WAIT)
            await asyncio.wait_for(fleet.wait_calls_taken(4), WAIT)
        finally:
            await fleet.stop()
        assert (stats.answered, stats.abandoned, stats.in_progress) == (4, 0, 0)
        assert not stats.refused
        finished = sb.events.of(CallFinished)
        assert len(finished) == 4 and {f.agent_id for f in finished} <= {"a1", "a2"}
        # The B2BUA saw each caller's number, and the IVR's customer id where there was one.
        for call in sb.intake.calls:
            assert call.ani in {"+447700900001", "+447700900101", "+447700900999"}
            assert (call.customer_hint == "1") == (call.ani == "+447700900001")


async def test_an_impatient_demo_caller_abandons_in_the_queue(tmp_path: Path) -> None:
    async with switchboard(tmp_path, [SALES], {"a1": "1001"}, {"5000": Route("sales")}) as sb:
        # Nobody is Ready: the caller waits, then hangs up.
        plan = traffic(sb.port, impatient_share=1.0, patience_s=0.2)
        stats = await asyncio.wait_for(TrafficGenerator(plan).run(1), WAIT)
        assert (stats.abandoned, stats.answered) == (1, 0)
        dequeued = await sb.events.wait(CallDequeued)
        assert dequeued.outcome is Outcome.ABANDONED
