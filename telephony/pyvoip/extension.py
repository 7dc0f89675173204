"""Run a pyVoIP phone on the event loop and hand its incoming calls to an async callback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pyVoIP.VoIP import VoIPCall

from telephony.pyvoip.account import SipAccount
from telephony.pyvoip.bridge import LoopBridge
from telephony.pyvoip.call import PyVoipCall
from telephony.pyvoip.phone import PhoneStatus, StatusPhone, make_phone

__all__ = ["CallHandler", "PbxExtension", "PyVoipError"]

log = logging.getLogger(__name__)

CallHandler = Callable[[PyVoipCall], Awaitable[None]]


class PyVoipError(RuntimeError):
    """A pyVoIP endpoint could not register or run."""


class PbxExtension:
    """Register as an extension on an existing PBX and hand each incoming call to `on_call`.

    `on_call(call)` runs as a task on the event loop; it answers, streams and hangs up through
    the `PyVoipCall` handle. A call it neither answers nor declines within `ring_timeout`
    seconds is declined.
    """

    def __init__(
        self, account: SipAccount, on_call: CallHandler, *, ring_timeout: float = 60.0
    ) -> None:
        self.account = account
        self._on_call = on_call
        self._ring_timeout = ring_timeout
        self._phone: StatusPhone | None = None
        self._bridge: LoopBridge | None = None
        self._status = PhoneStatus.INACTIVE
        self._status_changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        # Touched from pyVoIP's call threads: set add/discard are atomic under the GIL.
        self._live: set[PyVoipCall] = set()

    @property
    def status(self) -> PhoneStatus:
        """Return the registration status as last reported by pyVoIP."""
        return self._status

    async def start(self) -> None:
        """Register with the PBX; raise PyVoipError if it refuses or never answers."""
        self._bridge = LoopBridge(asyncio.get_running_loop())
        self._phone = make_phone(self.account, self._incoming, self._report_status)
        # Three tries of register_timeout each, as pyVoIP makes them, plus slack.
        limit = 3 * self.account.register_timeout + 5
        try:
            await asyncio.to_thread(self._phone.start)
            async with asyncio.timeout(limit):
                while self._status not in (PhoneStatus.REGISTERED, PhoneStatus.FAILED):
                    self._status_changed.clear()
                    await self._status_changed.wait()
        except (OSError, TimeoutError) as exc:
            await self.stop()
            raise PyVoipError(f"registration failed: {type(exc).__name__}") from exc
        if self._status is PhoneStatus.FAILED:
            await self.stop()
            raise PyVoipError("registration failed: the registrar refused or did not answer")
        log.info("registered as a pyVoIP extension")

    async def stop(self) -> None:
        """Hang up, deregister and wait for the call handlers to finish."""
        phone, self._phone = self._phone, None
        # Decline calls still ringing (486) and hang up the others while the phone can still
        # send; pyVoIP's own stop only hangs up answered calls.
        live = [call for call in list(self._live) if not call.ended.is_set()]
        await asyncio.gather(*(call.hangup() for call in live), return_exceptions=True)
        if phone is not None:
            await asyncio.to_thread(phone.stop)
        for call in list(self._live):
            call.release()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _report_status(self, status: PhoneStatus) -> None:
        # pyVoIP thread (or the loop's worker thread during start/stop).
        if self._bridge is not None:
            self._bridge.post(self._set_status, status)

    def _set_status(self, status: PhoneStatus) -> None:
        self._status = status
        self._status_changed.set()

    def _incoming(self, call: VoIPCall) -> None:
        # pyVoIP's per-call thread, started a second after the INVITE: it serves the call.
        assert self._bridge is not None
        handle = PyVoipCall(call, self._bridge, self._ring_timeout)
        self._live.add(handle)
        try:
            self._bridge.post(self._dispatch, handle)
            handle.run()
        finally:
            self._live.discard(handle)

    def _dispatch(self, call: PyVoipCall) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(call), name="pyvoip-call")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, call: PyVoipCall) -> None:
        try:
            await self._on_call(call)
        except Exception:
            log.exception("call handler failed; hanging up")
            if not call.ended.is_set():
                await call.hangup()
