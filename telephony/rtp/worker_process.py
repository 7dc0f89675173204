"""The audio worker process: plays ringback and hold audio into sockets Switchboard hands over.

Run by `telephony.rtp.worker.AudioWorker` as `python -m telephony.rtp.worker_process FD`, FD
being its end of a Unix SOCK_SEQPACKET pair. Each message is one JSON object; `play` comes
with the relay leg's UDP socket (SCM_RIGHTS), so packets leave from the port the caller was
given in SDP. One 20 ms clock drives every stream, as the in-process players do. The worker
only sends; it exits when Switchboard closes its end (or dies).

    {"op": "play", "id": 7, "tone": [[425.0], [1.0, 4.0], 6000], "pt": 0,
     "ssrc": 1, "seq": 2, "ts": 3, "at": 50, "mark": false,
     "to": ["192.0.2.1", 4000]}                                    + the socket
    {"op": "to", "id": 7, "to": ["192.0.2.1", 4002]}              the caller's address moved
    {"op": "stop", "id": 7}  ->  {"op": "stopped", "id": 7, "seq": .., "ts": .., "sent": ..}
"""

from __future__ import annotations

import json
import logging
import select
import signal
import socket
import sys
import time
from typing import Any

from telephony.rtp.player import PACKET_SECONDS, RtpStream, missed_frames
from telephony.rtp.tone import AudioLoop, Tone

__all__ = ["main", "serve"]

log = logging.getLogger(__name__)

# A message is a few hundred bytes; a play carries one descriptor.
MAX_MESSAGE = 4096


class _Playing:
    """One stream the worker sends: its socket, where to, and how many packets went."""

    __slots__ = ("sent", "sock", "stream", "to")

    def __init__(self, stream: RtpStream, sock: socket.socket, to: tuple[str, int] | None):
        self.stream = stream
        self.sock = sock
        self.to = to
        self.sent = 0

    def send_next(self) -> None:
        packet = self.stream.next_packet()
        if packet is None or self.to is None:
            return
        try:
            self.sock.sendto(packet, self.to)
        except OSError:
            # A full buffer or an ICMP error from a caller who hung up: this packet is lost,
            # the stream goes on (the relay's own send does the same).
            return
        self.sent += 1


def _address(value: Any) -> tuple[str, int] | None:
    return None if value is None else (str(value[0]), int(value[1]))


def _play(message: dict[str, Any], fds: list[int]) -> _Playing:
    frequencies, cadence, amplitude = message["tone"]
    tone = Tone(tuple(frequencies), tuple(cadence), int(amplitude))
    stream = RtpStream(
        AudioLoop.from_tone(tone, int(message["pt"])),
        ssrc=int(message["ssrc"]),
        sequence=int(message["seq"]),
        timestamp=int(message["ts"]),
        index=int(message.get("at", 0)),
        marker=bool(message.get("mark", True)),
    )
    sock = socket.socket(fileno=fds[0])
    sock.setblocking(False)
    return _Playing(stream, sock, _address(message.get("to")))


def _stopped(stream_id: int, playing: _Playing) -> bytes:
    stream = playing.stream
    reply = {
        "op": "stopped",
        "id": stream_id,
        "seq": stream.sequence,
        "ts": stream.timestamp,
        "sent": playing.sent,
        "suppressed": stream.suppressed,
        "skipped": stream.skipped,
    }
    return json.dumps(reply).encode()


def _handle(
    channel: socket.socket, message: dict[str, Any], fds: list[int], playing: dict[int, _Playing]
) -> None:
    op, stream_id = message.get("op"), int(message.get("id", 0))
    if op == "play" and fds:
        started = playing[stream_id] = _play(message, fds)
        started.send_next()  # the first packet at once, as a local player sends it
    elif op == "to" and stream_id in playing:
        playing[stream_id].to = _address(message.get("to"))
    elif op == "stop":
        stopped = playing.pop(stream_id, None)
        if stopped is not None:
            stopped.sock.close()
            _reply(channel, _stopped(stream_id, stopped))
        else:
            _reply(channel, json.dumps({"op": "stopped", "id": stream_id}).encode())
    else:
        log.warning("audio worker: message ignored (op %r)", op)
        for fd in fds:
            socket.close(fd)


def _reply(channel: socket.socket, data: bytes) -> None:
    """Send a reply, waiting while the channel is full (Switchboard reads it as it comes)."""
    while True:
        try:
            channel.send(data)
            return
        except BlockingIOError:
            select.select([], [channel], [])


def _read(channel: socket.socket, playing: dict[int, _Playing]) -> bool:
    """Take every waiting message; return False once Switchboard has closed the channel."""
    while True:
        try:
            # The channel is non-blocking: recv_fds passes no flags on (MSG_DONTWAIT is ignored).
            data, fds, _flags, _addr = socket.recv_fds(channel, MAX_MESSAGE, 1)
        except BlockingIOError:
            return True
        if not data:
            return False
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("audio worker: unreadable message ignored")
            for fd in fds:
                socket.close(fd)
            continue
        _handle(channel, message, list(fds), playing)


def serve(channel: socket.socket) -> None:
    """Play what the channel asks until it closes."""
    playing: dict[int, _Playing] = {}
    start = 0.0
    ticks = 0
    while True:
        if playing:
            timeout: float | None = max(
                0.0, start + (ticks + 1) * PACKET_SECONDS - time.monotonic()
            )
        else:
            timeout = None
        readable, _, _ = select.select([channel], [], [], timeout)
        if readable:
            was_idle = not playing
            if not _read(channel, playing):
                return
            if was_idle and playing:
                # The clock starts with the first stream; deadlines come from a fixed start.
                start, ticks = time.monotonic(), 0
        if not playing or time.monotonic() < start + (ticks + 1) * PACKET_SECONDS:
            continue
        ticks += 1
        # As the in-process clock: after a stall, skip the missed packets instead of bursting.
        missed = missed_frames(time.monotonic() - (start + ticks * PACKET_SECONDS))
        ticks += missed
        for stream in playing.values():
            if missed:
                stream.stream.skip(missed)
            stream.send_next()


def main(argv: list[str]) -> int:
    """Serve the channel whose descriptor is argv[1]."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    # Ctrl-C at a terminal or a signal to the process group is Switchboard's to handle: the
    # worker plays on while calls drain, and ends when Switchboard closes the channel.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    channel = socket.socket(fileno=int(argv[1]))
    channel.setblocking(False)
    try:
        serve(channel)
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
