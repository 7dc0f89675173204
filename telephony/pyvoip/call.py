"""One call that pyVoIP received, as an asyncio handle: answer, hang up, send and hear audio."""

from __future__ import annotations

import asyncio
import logging
import threading
from enum import StrEnum

from pyVoIP.RTP import PayloadType
from pyVoIP.VoIP import CallState, InvalidStateError, VoIPCall

from telephony.pyvoip.audio import pcm16_to_u8, u8_to_pcm16
from telephony.pyvoip.bridge import LoopBridge

__all__ = ["CallEnd", "PyVoipCall"]

log = logging.getLogger(__name__)

FRAME = 160  # 20 ms at 8 kHz, in pyVoIP's one-byte samples
AUDIO_QUEUE_FRAMES = 250  # 5 s; a consumer further behind loses the oldest audio


class CallEnd(StrEnum):
    """Who ended a call."""

    LOCAL = "local"
    REMOTE = "remote"
    UNANSWERED = "unanswered"


class PyVoipCall:
    """An incoming call; `audio` yields 20 ms frames of 16-bit PCM, then b"" when it ends.

    Built on pyVoIP's call thread; the asyncio objects below bind to the loop lazily (on first
    use there), which Python 3.10+ guarantees.
    """

    def __init__(self, call: VoIPCall, bridge: LoopBridge, ring_timeout: float) -> None:
        headers = call.request.headers
        self.call_id: str = headers["Call-ID"]
        # Caller's and dialled numbers: customer data, never logged.
        self.ani: str = headers["From"]["number"] or ""
        self.dnis: str = headers["To"]["number"] or ""
        self.audio: asyncio.Queue[bytes] = asyncio.Queue(AUDIO_QUEUE_FRAMES + 1)
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self.ended_by: CallEnd | None = None
        self.frames_lost = 0
        self._call = call
        self._bridge = bridge
        self._ring_timeout = ring_timeout
        self._decided = threading.Event()
        self._local_hangup = threading.Event()

    async def answer(self) -> None:
        """Answer the call (200 OK) and start its audio."""
        await asyncio.to_thread(self._answer)
        self.answered.set()
        self._decided.set()

    def _answer(self) -> None:
        for client in self._call.RTPClients:
            # pyVoIP 1.6.8 encodes PCMA with the mu-law encoder (fixed in 1.6.9, not on PyPI).
            if client.preference == PayloadType.PCMA:
                client.encode_packet = client.encode_pcma  # type: ignore[method-assign,assignment]
        self._call.answer()

    async def hangup(self) -> None:
        """Hang up (BYE) an answered call, or decline (486) one still ringing."""
        self._local_hangup.set()
        try:
            if self.answered.is_set():
                await asyncio.to_thread(self._call.hangup)
            else:
                await asyncio.to_thread(self._deny)
        except InvalidStateError:
            log.debug("call %s had already ended", self.call_id)
        finally:
            self._decided.set()

    def _deny(self) -> None:
        try:
            self._call.deny()
        except AttributeError:
            # pyVoIP 1.6.8's deny() sends the 486, then stops RTP clients a ringing call never
            # started (no socket yet), which raises before it marks the call ended and drops
            # it from the phone: finish those two steps here.
            self._call.state = CallState.ENDED
            self._call.phone.calls.pop(self.call_id, None)

    def release(self) -> None:
        """Let the call's pyVoIP thread go (the phone is stopping); safe from any thread."""
        self._local_hangup.set()
        self._decided.set()

    def send_audio(self, pcm: bytes) -> None:
        """Queue 16-bit 8 kHz PCM to send; pyVoIP's transmitter paces it out at 20 ms."""
        self._call.write_audio(pcm16_to_u8(pcm))

    # Below: pyVoIP's call thread.

    def run(self) -> None:
        """Serve the call on pyVoIP's thread until it ends: wait for an answer, pump audio."""
        try:
            end = self._serve()
        except Exception:
            log.exception("pyVoIP call %s failed", self.call_id)
            end = CallEnd.LOCAL
        self._bridge.post(self._finish, end)

    def _serve(self) -> CallEnd:
        if not self._decided.wait(self._ring_timeout):
            self._local_hangup.set()
            if self._call.state == CallState.RINGING:
                self._call.deny()
            return CallEnd.UNANSWERED
        if self._call.state != CallState.ANSWERED:
            return CallEnd.LOCAL if self._local_hangup.is_set() else CallEnd.UNANSWERED
        while self._call.state == CallState.ANSWERED:
            # Blocks until audio arrives, and returns once pyVoIP stops the call's RTP.
            frame = self._call.read_audio(FRAME, True)
            if self._call.state != CallState.ANSWERED:
                break
            self._bridge.post(self._heard, u8_to_pcm16(frame))
        return CallEnd.LOCAL if self._local_hangup.is_set() else CallEnd.REMOTE

    # Below: the event loop (posted through the bridge).

    def _heard(self, frame: bytes) -> None:
        if self.audio.qsize() >= AUDIO_QUEUE_FRAMES:
            self.audio.get_nowait()
            self.frames_lost += 1
        self.audio.put_nowait(frame)

    def _finish(self, end: CallEnd) -> None:
        self.ended_by = end
        self.audio.put_nowait(b"")
        self.ended.set()
