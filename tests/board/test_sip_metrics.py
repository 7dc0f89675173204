"""SIP messages by method and response reach `/metrics` through telephony's counting hook."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from board.prom import BoardMetrics
from telephony.sip.builder import make_request, new_call_id
from telephony.sip.endpoint import SipEndpoint
from telephony.sip.transport import Peer
from telephony.sip.uri import parse_address
from tests.telephony.conftest import SCENARIOS, UdpPeer, run_sipp, udp_peer  # noqa: F401
from tests.telephony.sip.helpers import raw_request, response

CALLS = 3


def sip_counts(metrics: BoardMetrics) -> dict[tuple[str, str, str], float]:
    """Read the SIP counter back through the Prometheus text parser, as a scrape would."""
    text = generate_latest(metrics.registry).decode()
    return {
        (s.labels["direction"], s.labels["method"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "switchboard_sip_messages_total"
    }


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_sipp_options_are_counted_in_and_out(transport: str, tmp_path: Path) -> None:
    metrics = BoardMetrics()
    async with SipEndpoint(port=0, count_message=metrics.sip_message) as endpoint:
        args = [f"127.0.0.1:{endpoint.port}", "-sf", str(SCENARIOS / "options.xml")]
        args += ["-m", str(CALLS), "-t", transport, "-i", "127.0.0.1", "-p", "0"]
        result = await run_sipp(args, tmp_path)
    assert result.returncode == 0, result.errors or result.stderr
    counts = sip_counts(metrics)
    assert counts[("in", "OPTIONS", "")] == CALLS
    assert counts[("out", "OPTIONS", "200")] == CALLS


async def test_unknown_methods_and_answers_to_our_requests(
    udp_peer: UdpPeer,  # noqa: F811  (the fixture)
) -> None:
    metrics = BoardMetrics()
    async with SipEndpoint(port=0, count_message=metrics.sip_message) as endpoint:
        # A peer's made-up method is answered 501 and counted as "other", never as a new series.
        udp_peer.send(raw_request("FROBNICATE", udp_peer.port), endpoint.port)
        assert response(await udp_peer.recv()).status == 501
        # Our own request out, the peer's 200 back in (its method from CSeq).
        options = make_request(
            "OPTIONS",
            f"sip:peer@127.0.0.1:{udp_peer.port}",
            from_address=parse_address("<sip:switchboard@127.0.0.1>;tag=sb1"),
            to_address=parse_address(f"<sip:peer@127.0.0.1:{udp_peer.port}>"),
            call_id=new_call_id("127.0.0.1"),
            cseq=1,
        )
        tx = endpoint.send_request(options, Peer("UDP", "127.0.0.1", udp_peer.port))
        sent = await udp_peer.recv()
        reply = (
            b"SIP/2.0 200 OK\r\n"
            + b"\r\n".join(
                line
                for line in sent.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
                if line.split(b":")[0] in (b"Via", b"From", b"To", b"Call-ID", b"CSeq")
            )
            + b"\r\nContent-Length: 0\r\n\r\n"
        )
        udp_peer.send(reply, endpoint.port)
        assert (await tx.wait_final()).status == 200
    counts = sip_counts(metrics)
    assert counts[("in", "other", "")] == 1
    assert counts[("out", "other", "501")] == 1
    assert counts[("out", "OPTIONS", "")] >= 1  # retransmissions are messages on the wire too
    assert counts[("in", "OPTIONS", "200")] == 1
    assert not any(method == "FROBNICATE" for _, method, _ in counts)


async def test_a_failing_counter_never_breaks_sip(
    udp_peer: UdpPeer,  # noqa: F811  (the fixture)
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(direction: str, method: str, status: int | None) -> None:
        raise RuntimeError("metrics backend gone")

    async with SipEndpoint(port=0, count_message=broken) as endpoint:
        udp_peer.send(raw_request("OPTIONS", udp_peer.port), endpoint.port)
        assert response(await udp_peer.recv()).status == 200
    assert "the SIP message counter failed" in caplog.text
