"""A pyVoIP phone that reports its registration status as it changes."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from pyVoIP.SIP import SIPClient
from pyVoIP.VoIP import VoIPCall, VoIPPhone
from pyVoIP.VoIP.status import PhoneStatus

from telephony.pyvoip.account import SipAccount

__all__ = ["PhoneStatus", "StatusPhone", "make_phone"]

log = logging.getLogger(__name__)


class StatusPhone(VoIPPhone):
    """A VoIPPhone that calls `on_status` (from whichever thread) when its status changes.

    pyVoIP sets `_status` from its registration thread and offers no event, so the attribute
    is turned into a property here rather than polled.
    """

    def __init__(self, *args: Any, on_status: Callable[[PhoneStatus], None], **kwargs: Any):
        self._on_status = on_status
        self._current = PhoneStatus.INACTIVE
        self._ports_of_collected_calls: deque[int] = deque()
        super().__init__(*args, **kwargs)

    @property
    def _status(self) -> PhoneStatus:
        return self._current

    @_status.setter
    def _status(self, value: PhoneStatus) -> None:
        changed = value != self._current
        self._current = value
        if changed:
            self._on_status(value)

    def release_ports(self, call: VoIPCall | None = None) -> None:
        """Free the RTP ports of `call`, or of every call that has ended."""
        if call is not None:
            # pyVoIP calls this only from VoIPCall.__del__, i.e. in whichever thread the
            # garbage collector happens to run, perhaps one inside threading's own locks.
            # pyVoIP's version takes portsLock and asks its call threads is_alive(), which
            # takes threading's shutdown lock: a collection inside Thread.start deadlocked the
            # new thread and the SIP thread waiting for it. So only note the ports here; a
            # deque's append takes no lock, and they are freed before the next port is given.
            self._ports_of_collected_calls.extend(call.assignedPorts)
            return
        self._free_ports_of_collected_calls()
        super().release_ports()

    def request_port(self, blocking: bool = True) -> int:
        """Give an RTP port for a new call, reusing those of collected calls."""
        self._free_ports_of_collected_calls()
        return int(super().request_port(blocking))

    def _free_ports_of_collected_calls(self) -> None:
        with self.portsLock:
            while self._ports_of_collected_calls:
                port = self._ports_of_collected_calls.popleft()
                if port in self.assignedPorts:
                    self.assignedPorts.remove(port)


def make_phone(
    account: SipAccount,
    on_call: Callable[[VoIPCall], None],
    on_status: Callable[[PhoneStatus], None],
) -> StatusPhone:
    """Build a phone for an account; `on_call` runs on pyVoIP's per-call thread."""
    low, high = account.rtp_ports
    phone = StatusPhone(
        account.server,
        account.port,
        account.username,
        account.password,
        myIP=account.local_host,
        callCallback=on_call,
        sipPort=account.sip_port,
        rtpPortLow=low,
        rtpPortHigh=high,
        on_status=on_status,
    )
    phone.sip.register_timeout = account.register_timeout
    _guard_receiver(phone.sip)
    return phone


def _guard_receiver(sip: SIPClient) -> None:
    """Let pyVoIP's SIP receive thread end quietly when `stop` closes its socket under it.

    pyVoIP 1.6.8's receive loop only expects BlockingIOError; the OSError (bad file
    descriptor) it meets after `stop` would otherwise kill the thread with a traceback.
    """
    receive = sip.recv_loop

    def recv_loop() -> None:
        try:
            receive()
        except OSError:
            if sip.NSD:
                log.exception("pyVoIP's SIP receive loop failed")

    sip.recv_loop = recv_loop  # type: ignore[method-assign]
