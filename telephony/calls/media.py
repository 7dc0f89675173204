"""The media of one bridged call: a relay session, the SDP each party sees, recording and hold.

Switchboard stays in the media path (a B2BUA with an RTP relay): each party's SDP names a
relay port, so audio and telephone-events pass through the relay unchanged, and the relay
tees both directions to the call's recorder (caller left, agent right). On hold the relay
stops forwarding, hold audio plays to the caller and the recorder pauses (it writes silence).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import replace
from typing import Protocol

from telephony.rtp.player import MediaPlayer
from telephony.rtp.relay import RelaySession, RtpRelay, Side
from telephony.rtp.tone import HOLD_BEEP, PCMA_PT, PCMU_PT, AudioLoop, Tone
from telephony.rtp.worker import WorkerPlayer
from telephony.sdp import (
    Direction,
    SdpError,
    SessionDescription,
    audio_offer,
    parse_sdp,
    rewrite_for_relay,
    with_direction,
)

__all__ = ["CallMedia", "CallRecorder", "Recordings", "audio_offer_of", "mirror"]

log = logging.getLogger(__name__)

_CODEC_NAMES = {PCMU_PT: "PCMU", PCMA_PT: "PCMA"}


class CallRecorder(Protocol):
    """One call's recording as the relay feeds it (recording.Recorder fits)."""

    def feed(self, side: str, packet: bytes) -> None:
        """Take one RTP packet from "caller" or "agent"."""

    def pause(self) -> None:
        """Record silence from now on."""

    def resume(self) -> None:
        """Record audio again."""

    async def finish(self) -> object:
        """Write the rest and close the file."""


class Recordings(Protocol):
    """Where recorders come from (recording.RecordingStore fits)."""

    def start(self, call_id: str, codec: str) -> CallRecorder:
        """Start recording a call in a G.711 law ("PCMU" or "PCMA")."""


def audio_offer_of(body: bytes) -> SessionDescription:
    """Parse an SDP offer the relay can serve: G.711 audio at an IP address, or raise SdpError."""
    sdp = parse(body)
    audio = sdp.audio()
    if not any(fmt in ("0", "8") for fmt in audio.formats):
        raise SdpError("no G.711 (PCMU/PCMA) format offered")
    return sdp


def parse(body: bytes) -> SessionDescription:
    """Parse SDP whose audio address is an IP literal (the relay matches packets by address)."""
    sdp = parse_sdp(body)
    host = sdp.audio_endpoint().host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise SdpError("audio connection address is not an IP address") from None
    return sdp


def mirror(direction: Direction) -> Direction:
    """Return the direction that answers an offered one (RFC 3264 section 6.1)."""
    if direction is Direction.SENDONLY:
        return Direction.RECVONLY
    if direction is Direction.RECVONLY:
        return Direction.SENDONLY
    return direction


class CallMedia:
    """Relay ports and the descriptions sent to each party; open with `CallMedia.open`."""

    def __init__(
        self, session: RelaySession, caller_offer: SessionDescription | None, address: str
    ) -> None:
        self.session = session
        self.address = address
        self.recorder: CallRecorder | None = None
        self.codec: int | None = None
        # Set once an agent's answer was connected (a transfer connects another one later).
        self.answered = False
        self._caller_offer = caller_offer
        # What plays to the caller now (ringback, hold audio); None when nothing does.
        self._player: MediaPlayer | WorkerPlayer | None = None
        # How many packets earlier players sent (tests and metrics read `packets_played`).
        self._played_before = 0
        # What each party was last sent, so a re-INVITE or hold can re-describe it.
        if caller_offer is None:
            # A late offer (INVITE without SDP): agents get Switchboard's own G.711 offer, and
            # the caller's 200 carries the agent's choice as an offer, answered in the ACK.
            agent_offer = audio_offer(address, session.agent.local_port)
        else:
            agent_offer = _relayed(caller_offer, address, session.agent.local_port)
            self._expect(Side.CALLER, caller_offer)
        self._local: dict[Side, SessionDescription] = {Side.AGENT: agent_offer}
        # Queued callers hear nothing from the agent side until the bridge.
        session.forwarding = False

    @classmethod
    async def open(
        cls, relay: RtpRelay, caller_offer: SessionDescription | None, address: str | None = None
    ) -> CallMedia:
        """Bind a relay session for a caller's offer; `address` is what SDP advertises."""
        session = await relay.open_session()
        return cls(session, caller_offer, address or relay.host)

    @property
    def bridged(self) -> bool:
        """Tell whether an agent was connected already (a transfer re-bridges the call)."""
        return self.answered

    def early_answer(self) -> SessionDescription:
        """Answer the caller now, for early media: its first G.711 codec and telephone-event.

        The 200 OK later carries this same answer (without 100rel the 183's SDP is not
        reliable, so the final answer must not change it), and agents are offered this codec.
        """
        if Side.CALLER in self._local:
            return self._local[Side.CALLER]
        if self._caller_offer is None:
            raise SdpError("no early answer to a late offer")
        audio = self._caller_offer.audio()
        self.codec = next(int(f) for f in audio.formats if f in ("0", "8"))
        restricted = _only(self._caller_offer, self.codec)
        answer = _relayed(restricted, self.address, self.session.caller.local_port)
        answer = replace(answer, origin_user="switchboard")
        self._local[Side.CALLER] = answer
        return answer

    def play(self, audio: Tone) -> None:
        """Play a tone to the caller (ringback while queued, hold audio) until stopped."""
        if self._player is None:
            codec = self.codec if self.codec is not None else PCMU_PT
            worker = self.session.relay.audio_worker
            if worker is not None:
                self._player = worker.player(self.session.caller, audio, codec)
            else:
                loop = AudioLoop.from_tone(audio, codec)
                self._player = MediaPlayer(self.session.caller.send, loop)
        self._player.start()

    @property
    def agent_offer(self) -> SessionDescription:
        """Return the offer for an agent: the caller's, pointed at the relay.

        After a transfer, the caller is already answered with one codec, so the next agent is
        offered that codec only (with telephone-event): the relay does not transcode.
        """
        offer = self._local[Side.AGENT]
        if self.codec is None:
            return offer
        updated = _only(offer, self.codec)
        self._local[Side.AGENT] = updated
        return updated

    async def bridge(
        self, agent_answer: SessionDescription, recorder_for: Recordings | None, call_id: str
    ) -> SessionDescription:
        """Connect the agent's answer; return the answer for the caller; start recording."""
        # Everything up to the return happens at once, before the ringback stops: a console
        # hold arriving meanwhile must find the recorder and forwarding already set up.
        self._expect(Side.AGENT, agent_answer)
        self.answered = True
        if Side.CALLER in self._local:
            answer = self._local[Side.CALLER]  # given early, with the ringback
        else:
            answer = _relayed(agent_answer, self.address, self.session.caller.local_port)
            self._local[Side.CALLER] = answer
            chosen = [int(f) for f in agent_answer.audio().formats if f in ("0", "8")]
            self.codec = chosen[0] if chosen else None
        if recorder_for is not None and self.codec is not None:
            try:
                self.recorder = recorder_for.start(call_id, _CODEC_NAMES[self.codec])
            except Exception:
                # The call matters more than its recording: bridge it anyway, and say so.
                log.exception("call %s could not be recorded", call_id)
            else:
                self.session.tee = self.recorder.feed
        self.session.forwarding = True
        await self._stop_player()
        return answer

    async def reconnect(self, agent_answer: SessionDescription) -> None:
        """Connect a new agent (after a transfer): the caller keeps its answer and recording."""
        self._expect(Side.AGENT, agent_answer)
        await self.resume()

    def requeue(self, audio: Tone = HOLD_BEEP) -> None:
        """The caller waits again (a transfer): hold audio plays, the recording is paused."""
        self.hold(audio)

    def describe(self, side: Side, direction: Direction) -> SessionDescription:
        """Return the party's description again with a direction (a new SDP version)."""
        updated = with_direction(self._local[side], direction)
        self._local[side] = updated
        return updated

    def update(self, side: Side, offer: SessionDescription) -> None:
        """Follow a party's new offer (a re-INVITE): send to its new address if it moved."""
        self._expect(side, offer)

    @property
    def packets_played(self) -> int:
        """Return how many packets of ringback and hold audio the caller was sent."""
        current = self._player.packets_sent if self._player is not None else 0
        return self._played_before + current

    def hold(self, audio: Tone = HOLD_BEEP) -> None:
        """Stop relaying, pause the recording and play hold audio to the caller."""
        self.session.forwarding = False
        if self.recorder is not None:
            self.recorder.pause()
        self.play(audio)

    async def resume(self) -> None:
        """Relay (and record) both parties again, and stop the hold audio."""
        if self.recorder is not None:
            self.recorder.resume()
        self.session.forwarding = True
        await self._stop_player()

    async def _stop_player(self) -> None:
        player, self._player = self._player, None
        if player is not None:
            await player.stop()
            self._played_before += player.packets_sent

    async def close(self) -> object | None:
        """Stop everything, free the ports and finish the recording (returned, if any)."""
        # The recording ends first, right as the call does, so the WAV has the call's length
        # however long closing the sockets takes.
        self.session.tee = None
        recorder, self.recorder = self.recorder, None
        try:
            return None if recorder is None else await recorder.finish()
        finally:
            await self._stop_player()
            self.session.close()
            await self.session.wait_closed()

    def _expect(self, side: Side, sdp: SessionDescription) -> None:
        endpoint = sdp.audio_endpoint()
        if endpoint.port == 0 or endpoint.host in ("0.0.0.0", "::"):  # noqa: S104 - SDP hold
            return
        self.session.leg(side).expect(endpoint.host, endpoint.port)


def _relayed(sdp: SessionDescription, address: str, port: int) -> SessionDescription:
    """Point a description at a relay port, with one session-level c= line only.

    rewrite_for_relay writes c= at session and media level; pyVoIP 1.6.8 counts both as
    connections and refuses the call ("Unable to assign ports for RTP"), so the media-level
    copy, which says the same, is dropped.
    """
    rewritten = rewrite_for_relay(sdp, address, port)
    media = tuple(replace(m, connection=None) for m in rewritten.media)
    return replace(rewritten, media=media)


def _only(sdp: SessionDescription, codec: int) -> SessionDescription:
    """Keep one G.711 codec (and telephone-event) in the audio section; no direction."""
    audio = sdp.audio()
    keep = {str(codec)} | {
        str(c.payload_type) for c in audio.codecs if c.name.lower() == "telephone-event"
    }
    media = tuple(
        replace(
            m,
            formats=tuple(f for f in m.formats if f in keep),
            codecs=tuple(c for c in m.codecs if str(c.payload_type) in keep),
            direction=None,
        )
        if m is audio
        else m
        for m in sdp.media
    )
    return replace(sdp, media=media, session_version=sdp.session_version + 1)
