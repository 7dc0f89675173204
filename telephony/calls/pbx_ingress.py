"""PBX-extension ingress: calls a PBX sends to Switchboard's pyVoIP extension, routed like INVITEs.

Switchboard registers on an existing PBX as an extension (`telephony.pyvoip.PbxExtension`,
the one place pyVoIP's threads cross into the event loop). Each call it receives:

1. is admitted through the B2BUA (`B2bua.admit_local`) like an INVITE: ANI is the pyVoIP
   caller's number, DNIS the extension's configured route number. Refused -> declined (486,
   the only refusal pyVoIP can send).
2. is answered at once and hears ringback while queued. pyVoIP 1.6.8 cannot send early media
   and ignores CANCEL, so a caller kept ringing could hang up unseen; once answered, its
   hang-up is a BYE that pyVoIP reports, and a caller who leaves while queued is abandoned.
3. carries audio through the B2BUA's RTP relay (and so its recording and hold): a local RTP
   port turns pyVoIP's 20 ms PCM frames into G.711 mu-law packets to the relay's caller leg,
   and the relay's packets back into PCM for pyVoIP. The agent leg is the B2BUA's own.
4. ends both sides on either hang-up: the PBX caller's BYE -> `local_caller_gone`; the agent's
   BYE (or a refusal, overflow, shutdown) -> `LocalCaller.hang_up` -> BYE to the PBX.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from array import array
from collections.abc import AsyncIterator
from typing import cast

from aiohttp import web

from telephony.calls.b2bua import B2bua
from telephony.calls.identity import CallerIdentity
from telephony.calls.setup import B2BUA
from telephony.pyvoip import PbxExtension, PyVoipCall, SipAccount
from telephony.rtp.g711 import encode_ulaw
from telephony.rtp.packet import RtpError, build_packet, parse_header
from telephony.rtp.tone import PCMU_PT
from telephony.sdp import PCMU, SessionDescription, audio_offer

__all__ = ["PBX_EXTENSION", "PbxIngress", "setup_pbx_ingress", "ulaw_to_pcm16"]

log = logging.getLogger(__name__)

PBX_EXTENSION = web.AppKey("telephony.pbx_extension", PbxExtension)
SAMPLES_PER_FRAME = 160


def _ulaw_to_linear(code: int) -> int:
    # ITU-T G.711 mu-law expansion: the inverse of telephony.rtp.g711.linear_to_ulaw.
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - magnitude if code & 0x80 else magnitude - 0x84


_ULAW_TABLE = array("h", (_ulaw_to_linear(code) for code in range(256)))


def ulaw_to_pcm16(payload: bytes) -> bytes:
    """Return mu-law bytes as 16-bit little-endian PCM."""
    samples = array("h", (_ULAW_TABLE[code] for code in payload))
    return samples.tobytes()  # little-endian hosts only, as pyVoIP's audio code assumes


class CallerRtp(asyncio.DatagramProtocol):
    """The pyVoIP caller's RTP port facing the relay: PCM frames out as mu-law, packets in."""

    def __init__(self, phone_call: PyVoipCall) -> None:
        self._phone_call = phone_call
        self._transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self.port = 0
        self.packets_sent = 0
        self.packets_received = 0
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)

    @classmethod
    async def open(cls, host: str, phone_call: PyVoipCall) -> CallerRtp:
        """Bind an ephemeral UDP port on `host` for one call."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(phone_call), local_addr=(host, 0)
        )
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        self.port = self._transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        # Only the relay knows this port; anything not mu-law (a telephone-event) is dropped,
        # as pyVoIP's audio API carries audio only.
        try:
            header = parse_header(data)
        except RtpError:
            return
        if header.payload_type != PCMU_PT or not self._phone_call.answered.is_set():
            return
        self.packets_received += 1
        self._phone_call.send_audio(ulaw_to_pcm16(data[header.payload_offset :]))

    def send_frame(self, pcm: bytes) -> None:
        """Send one frame of 16-bit PCM to the relay as a mu-law RTP packet."""
        if self._transport is None or self.remote is None:
            return
        samples = array("h")
        samples.frombytes(pcm)
        payload = encode_ulaw(samples)
        packet = build_packet(PCMU_PT, self._sequence, self._timestamp, self._ssrc, payload)
        self._sequence += 1
        self._timestamp += len(samples)
        self._transport.sendto(packet, self.remote)
        self.packets_sent += 1

    def close(self) -> None:
        """Close the port."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None


class _ExtensionCaller:
    """The B2BUA's view of one pyVoIP call (`telephony.calls.call.LocalCaller`)."""

    def __init__(self, rtp: CallerRtp) -> None:
        self.rtp = rtp
        self.hung_up = asyncio.Event()

    def media_ready(self, answer: SessionDescription) -> None:
        endpoint = answer.audio_endpoint()
        self.rtp.remote = (endpoint.host, endpoint.port)

    def hang_up(self) -> None:
        self.hung_up.set()


class PbxIngress:
    """Route the calls a PBX extension receives through the B2BUA to agents."""

    def __init__(self, b2bua: B2bua, route_number: str, *, media_host: str = "127.0.0.1") -> None:
        self.b2bua = b2bua
        self.route_number = route_number
        self.media_host = media_host

    async def take(self, phone_call: PyVoipCall) -> None:
        """Serve one call from the PBX until both sides are down (`PbxExtension`'s handler)."""
        rtp = await CallerRtp.open(self.media_host, phone_call)
        try:
            await self._serve(phone_call, rtp)
        finally:
            rtp.close()

    async def _serve(self, phone_call: PyVoipCall, rtp: CallerRtp) -> None:
        caller = _ExtensionCaller(rtp)
        identity = CallerIdentity(phone_call.ani, self.route_number, None)
        offer = audio_offer(self.media_host, rtp.port, codecs=(PCMU,), dtmf=False)
        call = self.b2bua.admit_local(identity, offer, caller)
        if call is None or caller.hung_up.is_set():
            await phone_call.hangup()  # still ringing: declined with 486
            return
        pump = asyncio.create_task(self._pump(phone_call, rtp), name="pbx-ingress-audio")
        gone = asyncio.create_task(phone_call.ended.wait())
        released = asyncio.create_task(caller.hung_up.wait())
        try:
            await phone_call.answer()
            await asyncio.wait((gone, released), return_when=asyncio.FIRST_COMPLETED)
            if caller.hung_up.is_set() and not phone_call.ended.is_set():
                await phone_call.hangup()
            await phone_call.ended.wait()
        finally:
            # However this ends (the caller's BYE, a failed answer), the queued or connected
            # call must not outlive the PBX call; a no-op once Switchboard ended it.
            self.b2bua.local_caller_gone(call.call_id)
            for task in (pump, gone, released):
                task.cancel()
        await call.closed.wait()

    @staticmethod
    async def _pump(phone_call: PyVoipCall, rtp: CallerRtp) -> None:
        while frame := await phone_call.audio.get():
            rtp.send_frame(frame)


def setup_pbx_ingress(
    app: web.Application,
    *,
    account: SipAccount,
    route_number: str,
    media_host: str = "127.0.0.1",
    ring_timeout: float = 30.0,
) -> None:
    """Register on a PBX as `account` and route its calls as if `route_number` was dialled.

    Call after `telephony.calls.setup` (it needs `app[B2BUA]`, and stops before the B2BUA
    does). `media_host` is where the per-call RTP ports bind; the relay must reach it.
    """

    async def ingress(app: web.Application) -> AsyncIterator[None]:
        router = PbxIngress(app[B2BUA], route_number, media_host=media_host)
        extension = PbxExtension(account, router.take, ring_timeout=ring_timeout)
        await extension.start()
        app[PBX_EXTENSION] = extension
        try:
            yield
        finally:
            await extension.stop()

    app.cleanup_ctx.append(ingress)
