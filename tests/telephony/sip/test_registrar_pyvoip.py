"""pyVoIP, an independent SIP stack, registers with our registrar (Digest without qop)."""

from __future__ import annotations

import asyncio

import pytest
from pyVoIP.VoIP import PhoneStatus, VoIPPhone

from telephony.sip import Registrar, SipEndpoint, StaticCredentials
from tests.ports import free_port


@pytest.mark.parametrize(("password", "registered"), [("pw7", True), ("guess", False)])
async def test_pyvoip_phone_registers_and_unregisters(password: str, registered: bool) -> None:
    registrar = Registrar(StaticCredentials({"agent7": "pw7"}), realm="switchboard.test")
    async with SipEndpoint(registrar=registrar, port=0) as endpoint:
        port = free_port()
        phone = VoIPPhone(
            "127.0.0.1",
            endpoint.port,
            "agent7",
            password,
            myIP="127.0.0.1",
            sipPort=port,
            rtpPortLow=40000,
            rtpPortHigh=40010,
        )
        # pyVoIP blocks while it registers, so it runs in a worker thread.
        await asyncio.to_thread(phone.start)
        try:
            assert (phone.get_status() is PhoneStatus.REGISTERED) is registered
            bindings = registrar.lookup("agent7")
            if registered:
                [binding] = bindings
                assert binding.destination.port == port
                assert binding.contact.uri.port == port
            else:
                assert bindings == []
        finally:
            await asyncio.to_thread(phone.stop)
        assert registrar.lookup("agent7") == []  # pyVoIP sent Expires: 0 on stop
