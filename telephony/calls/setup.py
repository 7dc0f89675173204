"""Wire the B2BUA into the app: SIP transports, RTP relay and router subscription in one context."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from router.intake import CallControl, CallIntake
from router.runtime import RoutingRuntime
from telephony.calls.b2bua import B2bua
from telephony.calls.media import Recordings
from telephony.rtp.ports import PortAllocator
from telephony.rtp.relay import RtpRelay
from telephony.rtp.worker import AudioWorker
from telephony.sip.counting import MessageCounter
from telephony.sip.endpoint import SipEndpoint
from telephony.sip.registrar import Registrar
from telephony.sip.timers import TimerConfig

__all__ = ["B2BUA", "CALL_CONTROL", "SIP_ENDPOINT", "setup"]

B2BUA = web.AppKey("telephony.b2bua", B2bua)
SIP_ENDPOINT = web.AppKey("telephony.sip_endpoint", SipEndpoint)
# The console's hold/resume/hang-up/transfer, typed as the router's interface.
CALL_CONTROL: web.AppKey[CallControl] = web.AppKey("telephony.call_control")


def setup(
    app: web.Application,
    *,
    intake: CallIntake,
    runtime: RoutingRuntime,
    registrar: Registrar,
    recordings: Recordings | None = None,
    host: str = "127.0.0.1",
    port: int = 5060,
    advertised_host: str | None = None,
    rtp_ports: tuple[int, int] | None = None,
    timers: TimerConfig | None = None,
    count_message: MessageCounter | None = None,
    early_media: bool = True,
    audio_worker: bool = False,
) -> None:
    """Listen for SIP on host:port (UDP and TCP) and carry out routing on the calls that come.

    `advertised_host` is the address written in Via, Contact and SDP when `host` is a wildcard
    or behind NAT; `rtp_ports` is the (first, last) range the relay binds (else ephemeral).
    `early_media` answers queued callers 183 with ringback; off, they get 180 and silence (a
    benchmark of signalling alone turns it off). `audio_worker` plays that audio from a worker
    process (telephony.rtp.worker), off the event loop; `switchboard serve` turns it on.
    """

    async def calls(app: web.Application) -> AsyncIterator[None]:
        ports = PortAllocator(*rtp_ports) if rtp_ports is not None else None
        worker = AudioWorker() if audio_worker else None
        if worker is not None:
            await worker.start()
        relay = RtpRelay(host, ports, audio_worker=worker)
        b2bua = B2bua(
            intake=intake,
            runtime=runtime,
            registrar=registrar,
            relay=relay,
            recordings=recordings,
            media_address=advertised_host,
            early_media=early_media,
        )
        endpoint = SipEndpoint(
            b2bua,
            host=host,
            port=port,
            advertised_host=advertised_host,
            timers=timers,
            registrar=registrar,
            count_message=count_message,
        )
        b2bua.attach(endpoint)
        await endpoint.start()
        app[B2BUA] = b2bua
        app[SIP_ENDPOINT] = endpoint
        app[CALL_CONTROL] = b2bua
        try:
            yield
        finally:
            await b2bua.close()
            await endpoint.stop()
            await relay.close()
            if worker is not None:
                await worker.close()

    app.cleanup_ctx.append(calls)
