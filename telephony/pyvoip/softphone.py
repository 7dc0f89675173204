"""A softphone agent: registers to a registrar, auto-answers, plays audio, records what it hears."""

from __future__ import annotations

import asyncio
import logging
import sys
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

from telephony.pyvoip.account import SipAccount
from telephony.pyvoip.call import CallEnd, PyVoipCall
from telephony.pyvoip.extension import PbxExtension
from telephony.rtp.tone import SAMPLE_RATE, Tone

__all__ = ["AgentCall", "SoftphoneAgent", "pcm_from_tone", "pcm_from_wav"]

log = logging.getLogger(__name__)


def pcm_from_tone(tone: Tone, seconds: float) -> bytes:
    """Return `seconds` of a tone (looping its cadence) as 16-bit 8 kHz PCM for `play`."""
    cycle = array("h", tone.samples())
    count = round(seconds * SAMPLE_RATE)
    samples = (cycle * (count // len(cycle) + 1))[:count]
    if sys.byteorder == "big":
        samples.byteswap()  # PCM here is little-endian, as in WAV files
    return samples.tobytes()


def pcm_from_wav(path: Path) -> bytes:
    """Read a mono 16-bit 8 kHz WAV file for `play`; raise ValueError for any other format."""
    with wave.open(str(path), "rb") as wav:
        if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, SAMPLE_RATE):
            raise ValueError("play files must be mono 16-bit 8 kHz WAV")
        return wav.readframes(wav.getnframes())


@dataclass(frozen=True, slots=True)
class AgentCall:
    """A call the softphone took: who called whom, what it heard (16-bit PCM) and who hung up."""

    call_id: str
    ani: str
    dnis: str
    heard: bytes
    ended_by: CallEnd


class SoftphoneAgent:
    """An agent's phone for the demo and tests; finished calls arrive on `calls`.

    It answers after `answer_after` seconds, sends `play` (16-bit 8 kHz PCM) once answered,
    and hangs up after `hang_up_after` seconds unless the far end hangs up first.
    """

    def __init__(
        self,
        account: SipAccount,
        *,
        answer_after: float = 0.0,
        play: bytes = b"",
        hang_up_after: float | None = None,
    ) -> None:
        self._answer_after = answer_after
        self._play = play
        self._hang_up_after = hang_up_after
        self._endpoint = PbxExtension(account, self._take)
        self.calls: asyncio.Queue[AgentCall] = asyncio.Queue()

    async def start(self) -> None:
        """Register; raise PyVoipError if the registrar refuses."""
        await self._endpoint.start()

    async def stop(self) -> None:
        """Hang up and deregister."""
        await self._endpoint.stop()

    async def _take(self, call: PyVoipCall) -> None:
        if self._answer_after > 0:
            # A ringing phone: the delay is the point, not a workaround.
            await asyncio.sleep(self._answer_after)
        await call.answer()
        if self._play:
            call.send_audio(self._play)
        heard = bytearray()
        loop = asyncio.get_running_loop()
        deadline = None if self._hang_up_after is None else loop.time() + self._hang_up_after
        while True:
            remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
            try:
                frame = await asyncio.wait_for(call.audio.get(), remaining)
            except TimeoutError:
                await call.hangup()
                deadline = None
                continue
            if not frame:
                break
            heard += frame
        assert call.ended_by is not None
        self.calls.put_nowait(
            AgentCall(call.call_id, call.ani, call.dnis, bytes(heard), call.ended_by)
        )
