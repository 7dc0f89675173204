"""Fuzzing a running endpoint over real UDP: no input makes it fail or stop answering."""

from __future__ import annotations

import asyncio
import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.sip.endpoint import SipEndpoint
from telephony.sip.registrar import Registrar, StaticCredentials
from telephony.sip.timers import TimerConfig
from tests.telephony.conftest import WAIT, UdpPeer
from tests.telephony.sip.helpers import RecordingHandler, raw_request, response
from tests.telephony.sip.test_fuzz import mutated_samples


class ErrorCounter(logging.Handler):
    """Counts ERROR records from the SIP core (a bug, as opposed to a refused message)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def inputs() -> st.SearchStrategy[bytes]:
    """Mutated valid messages addressed to the endpoint, plus raw junk."""
    requests = st.sampled_from(["INVITE", "BYE", "CANCEL", "ACK", "REGISTER", "OPTIONS", "MESSAGE"])
    tagged = st.builds(
        lambda method, port_tag, body: raw_request(method, 1, to_tag=port_tag, body=body),
        requests,
        st.none() | st.just("t1"),
        st.binary(max_size=20),
    )
    return st.one_of(mutated_samples(), tagged, st.binary(max_size=200))


# The samples' Via sent-by values, pointed at the test's peer so no answer goes elsewhere.
SENT_BY = [
    b"127.0.0.1:1",
    b"pc33.atlanta.example.com:5060",
    b"pc33.atlanta.example.com",
    b"proxy1.example.com:5070",
    b"192.0.2.10:5062",
    b"192.0.2.7",
]


def readdress(data: bytes, port: int) -> bytes:
    """Replace the samples' sent-by addresses with 127.0.0.1:port."""
    for sent_by in SENT_BY:
        data = data.replace(sent_by, b"127.0.0.1:%d" % port)
    return data


@settings(max_examples=150, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.lists(inputs(), min_size=1, max_size=5))
async def test_endpoint_survives_anything(datagrams: list[bytes]) -> None:
    errors = ErrorCounter()
    logger = logging.getLogger("telephony.sip")
    logger.addHandler(errors)
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(UdpPeer, local_addr=("127.0.0.1", 0))
    registrar = Registrar(StaticCredentials({"bob": "x"}), realm="fuzz")
    handler = RecordingHandler({"INVITE", "BYE", "MESSAGE"}, 486)
    try:
        timers = TimerConfig(t1=0.01, t2=0.04, t4=0.05, d=0.1)
        async with SipEndpoint(handler, registrar=registrar, port=0, timers=timers) as endpoint:
            for data in datagrams:
                peer.send(readdress(data, peer.port), endpoint.port)
            probe = raw_request("OPTIONS", peer.port, call_id="probe@fuzz")
            peer.send(probe, endpoint.port)
            while True:
                got = response(await asyncio.wait_for(peer.recv(), WAIT))
                if got.headers.get("call-id") == "probe@fuzz":
                    assert got.status == 200
                    break
    finally:
        transport.close()
        logger.removeHandler(errors)
    assert not errors.records, [r.getMessage() for r in errors.records]
