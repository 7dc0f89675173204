"""Against real sipp (sip-tester): OPTIONS, REGISTER with Digest, malformed input; UDP and TCP."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.sip.endpoint import SipEndpoint
from telephony.sip.registrar import Registrar, StaticCredentials
from tests.telephony.conftest import SCENARIOS, SippResult, UdpPeer, run_sipp

TRANSPORTS = {"UDP": "u1", "TCP": "t1"}


def registrar(password: str = "wonderland") -> Registrar:
    """A registrar that knows alice with the password the scenarios use."""
    return Registrar(StaticCredentials({"alice": password}), realm="switchboard.test")


async def sipp(endpoint: SipEndpoint, scenario: str, transport: str, workdir: Path) -> SippResult:
    """Run one sipp call of a scenario against the endpoint."""
    args = [
        f"127.0.0.1:{endpoint.port}",
        "-sf",
        str(SCENARIOS / scenario),
        "-m",
        "1",
        "-t",
        TRANSPORTS[transport],
        "-i",
        "127.0.0.1",
        "-p",
        "0",
    ]
    return await run_sipp(args, workdir)


def succeeded(result: SippResult) -> bool:
    """Exit code 0 means every call passed; anything else is explained by the error log."""
    assert result.returncode == 0, result.errors or result.stderr or result.stdout[-2000:]
    return True


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_options_gets_200(transport: str, tmp_path: Path) -> None:
    async with SipEndpoint(port=0) as endpoint:
        assert succeeded(await sipp(endpoint, "options.xml", transport, tmp_path))


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_register_with_right_password(transport: str, tmp_path: Path) -> None:
    reg = registrar()
    async with SipEndpoint(registrar=reg, port=0) as endpoint:
        assert succeeded(await sipp(endpoint, "register_auth.xml", transport, tmp_path))
    [binding] = reg.lookup("alice")
    assert binding.source.transport == transport
    assert binding.contact.uri.host == "127.0.0.1"


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_register_with_wrong_password_is_refused(transport: str, tmp_path: Path) -> None:
    reg = registrar()
    async with SipEndpoint(registrar=reg, port=0) as endpoint:
        assert succeeded(await sipp(endpoint, "register_wrong.xml", transport, tmp_path))
    assert reg.lookup("alice") == []


async def test_register_scenario_fails_when_the_password_differs(tmp_path: Path) -> None:
    # The control: the right-password scenario must fail when the registrar knows another one.
    reg = registrar(password="changed")
    async with SipEndpoint(registrar=reg, port=0) as endpoint:
        result = await sipp(endpoint, "register_auth.xml", "UDP", tmp_path)
    assert result.returncode != 0
    assert "403" in result.errors
    assert reg.lookup("alice") == []


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_malformed_requests_get_400_and_service_continues(
    transport: str, tmp_path: Path
) -> None:
    async with SipEndpoint(port=0) as endpoint:
        assert succeeded(await sipp(endpoint, "malformed.xml", transport, tmp_path))


async def test_raw_garbage_then_options(udp_peer: UdpPeer, tmp_path: Path) -> None:
    async with SipEndpoint(port=0) as endpoint:
        for junk in (b"\x16\x03\x01\x00\xa5\x01", b"NOTSIP\r\n\r\n", b"INVITE sip:x SIP/2.0\r\n"):
            udp_peer.send(junk, endpoint.port)
        # An unanswerable datagram gets no reply; an OPTIONS after it still gets its 200.
        assert succeeded(await sipp(endpoint, "options.xml", "UDP", tmp_path))
        assert udp_peer.received.empty()
