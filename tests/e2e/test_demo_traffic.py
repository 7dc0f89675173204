"""The demo's traffic generator against sipp playing agents' phones: real SIP both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from demo.traffic import Caller, TrafficGenerator, TrafficPlan, TrafficStats
from telephony.sip.transport import Peer
from tests.ports import free_port
from tests.telephony.conftest import SCENARIOS, SippResult, finish_sipp, start_sipp
from tests.telephony.sip.test_sipp import succeeded

HERE = Path(__file__).parent / "scenarios"
CALLERS = {
    "vip": [Caller("vip", "+447700900001", "C-1"), Caller("vip", "+447700900002")],
    "standard": [Caller("standard", "+447700900101")],
    "unknown": [Caller("unknown", "+447700900999")],
}
ALL_ANIS = {caller.ani for callers in CALLERS.values() for caller in callers}


def plan(port: int, **overrides: object) -> TrafficPlan:
    values: dict[str, object] = {
        "target": Peer("UDP", "127.0.0.1", port),
        "dialled": ["+441632960100", "+441632960300"],
        "callers": CALLERS,
        "calls_per_second": 50.0,
        "impatient_share": 0.0,
        "talk_s": 0.3,
        "seed": 3,
    }
    values.update(overrides)
    return TrafficPlan(**values)  # type: ignore[arg-type]


async def run_against(
    scenario: Path, calls: int, tmp_path: Path, **overrides: object
) -> tuple[TrafficStats, SippResult, str]:
    """Place `calls` calls at sipp playing `scenario`; return the stats, sipp's end, its log."""
    port = free_port()
    args = ["-sf", str(scenario), "-m", str(calls), "-t", "u1", "-i", "127.0.0.1"]
    args += ["-p", str(port), "-trace_msg", "-message_file", str(tmp_path / "messages.log")]
    sipp = await start_sipp(args, tmp_path)
    generator = TrafficGenerator(plan(port, **overrides))
    stats = await asyncio.wait_for(generator.run(calls), 30)
    result = await finish_sipp(sipp, tmp_path)
    return stats, result, (tmp_path / "messages.log").read_text(errors="replace")


async def test_patient_callers_are_answered_talk_and_hang_up(tmp_path: Path) -> None:
    mix = {"vip": 0.5, "standard": 0.3, "unknown": 0.2}
    stats, sipp, messages = await run_against(SCENARIOS / "agent_uas.xml", 6, tmp_path, mix=mix)
    assert succeeded(sipp), sipp.errors
    assert stats.total == 6 and stats.answered == 6
    assert (stats.abandoned, stats.ended_by_far_end, stats.in_progress) == (0, 0, 0)
    assert not stats.refused
    # Each INVITE comes from a caller of the plan, to a dialled number, with an SDP offer.
    invites = [block for block in messages.split("\n\n") if "INVITE sip:" in block]
    assert len(invites) >= 6
    for invite in invites:
        assert any(f"<sip:{ani}@" in invite for ani in ALL_ANIS), invite
        assert "INVITE sip:+44163296" in invite
        assert "Content-Type: application/sdp" in invite
    assert messages.count("m=audio 0") == 0 and messages.count("m=audio") >= 12  # offer, answer
    # Only the caller whose IVR knows them carries the customer id.
    for invite in invites:
        assert ("X-Customer-Id: C-1" in invite) == ("<sip:+447700900001@" in invite)


async def test_impatient_callers_cancel_while_ringing(tmp_path: Path) -> None:
    stats, sipp, _ = await run_against(
        SCENARIOS / "agent_no_answer.xml",
        4,
        tmp_path,
        impatient_share=1.0,
        patience_s=0.05,
    )
    assert succeeded(sipp), sipp.errors  # sipp got each CANCEL and the ACK of its 487
    assert (stats.total, stats.abandoned, stats.answered) == (4, 4, 0)


async def test_the_far_end_may_hang_up_first(tmp_path: Path) -> None:
    stats, sipp, _ = await run_against(HERE / "agent_hangs_up.xml", 3, tmp_path, talk_s=60.0)
    assert succeeded(sipp), sipp.errors  # sipp got a 200 to each of its BYEs
    assert (stats.answered, stats.ended_by_far_end) == (3, 3)


def test_a_plan_needs_callers_for_every_kind_it_mixes() -> None:
    with pytest.raises(ValueError, match="every kind"):
        plan(5060, callers={"vip": CALLERS["vip"]})
    with pytest.raises(ValueError, match="positive"):
        plan(5060, calls_per_second=0)
    assert plan(5060, callers={"vip": CALLERS["vip"]}, mix={"vip": 1.0}).mix == {"vip": 1.0}
