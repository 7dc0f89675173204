"""Play ringback and hold audio from a worker process, so its packets cost the event loop nothing.

Each RTP packet is a system call of ~6-17 us; with a thousand callers ringing that was a quarter
of the event loop's core (bench/screenpop_latency under py-spy), time that SIP and the screen pop
waited behind. The worker (telephony.rtp.worker_process) gets the relay leg's socket over a
Unix socket pair and paces the stream on another core; the event loop sends two small messages
per stream (play, stop) instead of fifty packets a second.

A stream starts in-process and is handed to the worker after HAND_OVER_SECONDS: a hand-over
(the play and stop messages, a socket passed, the reply awaited) costs the event loop ~0.2 ms of
CPU (measured: 2,000 play-stop cycles), as much as ~25 packets sent in-process, and most calls
are answered within a ring or two. The stream goes on where it was: same SSRC, sequence,
timestamp and place in the cadence.

Nothing is lost if the worker is gone: a player it held goes on in-process (a new stream: new
SSRC, marked first packet), players start in-process until a new worker runs, and the worker is
started again at most every RESTART_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import socket
import sys
from collections import deque
from typing import TYPE_CHECKING, Any

from telephony.rtp.player import MediaPlayer, RtpStream
from telephony.rtp.tone import AudioLoop, Tone

if TYPE_CHECKING:
    from telephony.rtp.relay import RelayLeg

__all__ = ["AudioWorker", "WorkerPlayer"]

log = logging.getLogger(__name__)

# A stop waits this long for the worker to let go of the socket before the call goes on.
STOP_TIMEOUT = 2.0
RESTART_SECONDS = 10.0
HAND_OVER_SECONDS = 0.2


class WorkerPlayer:
    """A player whose packets the worker sends; the same face as `MediaPlayer`."""

    def __init__(self, worker: AudioWorker, leg: RelayLeg, tone: Tone, payload_type: int) -> None:
        self._worker = worker
        self._leg = leg
        self._tone = tone
        self._audio = AudioLoop.from_tone(tone, payload_type)
        # Sequence and timestamp live here between plays (the worker returns them on stop).
        self.stream = RtpStream(self._audio)
        self._id: int | None = None
        self._stopped: asyncio.Future[dict[str, Any]] | None = None
        self._local: MediaPlayer | None = None
        self._sent_before = 0
        self._hand_over: asyncio.TimerHandle | None = None

    @property
    def playing(self) -> bool:
        """Tell whether the player is sending (through the worker or in-process)."""
        return self._id is not None or (self._local is not None and self._local.playing)

    @property
    def packets_sent(self) -> int:
        """Return how many packets were sent, as far as this process knows (stops report)."""
        local = self._local.packets_sent if self._local is not None else 0
        return self._sent_before + local

    def start(self) -> None:
        """Start sending in-process; the worker takes the stream over if it plays on."""
        if self.playing:
            return
        self._fold_local()
        self.stream.rewind()
        delay = self._worker.hand_over_after
        if delay <= 0:
            self._to_worker()
            return
        self._play_locally(rewind=False)
        self._hand_over = asyncio.get_running_loop().call_later(delay, self._to_worker)

    def _to_worker(self) -> None:
        """Hand the stream to the worker where it stands (if the worker runs)."""
        self._hand_over = None
        local = self._local
        if local is not None:
            if not local.playing:
                return
            local.stop_now()
            self._fold_local()
        stream_id = self._worker.play(self)
        if stream_id is None:
            self._play_locally(rewind=False)  # no worker now: it goes on here
            return
        self._id = stream_id
        self._leg.on_remote = self._moved

    def _fold_local(self) -> None:
        if self._local is not None:
            self._sent_before += self._local.packets_sent
            self._local = None

    async def stop(self) -> None:
        """Stop sending; return once the worker has let go of the socket."""
        if self._hand_over is not None:
            self._hand_over.cancel()
            self._hand_over = None
        if self._local is not None:
            await self._local.stop()
            return
        stream_id, self._id = self._id, None
        if stream_id is None:
            return
        self._leg.on_remote = None
        loop = asyncio.get_running_loop()
        self._stopped = loop.create_future()
        if not self._worker.send({"op": "stop", "id": stream_id}):
            self._stopped = None
            return
        try:
            async with asyncio.timeout(self._worker.stop_timeout):
                reply = await self._stopped
        except TimeoutError:
            # A worker that does not answer may still hold the socket: end it (streams it
            # held go on in-process, a new one starts later).
            self._worker.abandon(f"it did not stop a stream within {self._worker.stop_timeout} s")
            return
        finally:
            self._stopped = None
            self._worker.forget(stream_id)
        if "seq" in reply:
            self.stream.sequence = int(reply["seq"])
            self.stream.timestamp = int(reply["ts"])
            self._sent_before += int(reply["sent"])

    def play_message(self, stream_id: int) -> dict[str, Any]:
        """Return the worker's `play` message for this stream."""
        tone, stream = self._tone, self.stream
        return {
            "op": "play",
            "id": stream_id,
            "tone": [list(tone.frequencies), list(tone.cadence), tone.amplitude],
            "pt": self._audio.payload_type,
            "ssrc": stream.ssrc,
            "seq": stream.sequence,
            "ts": stream.timestamp,
            "at": stream.index,
            "mark": stream.marked,
            "to": self._leg.remote,
        }

    @property
    def leg(self) -> RelayLeg:
        """Return the relay leg whose socket the packets leave from."""
        return self._leg

    def stopped(self, reply: dict[str, Any]) -> None:
        """Take the worker's answer to a stop."""
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(reply)

    def worker_lost(self) -> None:
        """The worker is gone: go on in-process, as a new stream (its state went with it)."""
        stream_id, self._id = self._id, None
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result({})  # a stop in progress: nothing holds the socket now
        if stream_id is None:
            return
        self._leg.on_remote = None
        self.stream = RtpStream(self._audio)
        self._play_locally(rewind=True)

    def _play_locally(self, *, rewind: bool) -> None:
        self._local = MediaPlayer(self._leg.send, self._audio, stream=self.stream)
        self._local.start(rewind=rewind)

    def _moved(self, remote: tuple[str, int]) -> None:
        if self._id is not None:
            self._worker.send({"op": "to", "id": self._id, "to": list(remote)})


class AudioWorker:
    """Switchboard's side of the audio worker process: start it, hand streams to it, stop it."""

    def __init__(
        self,
        *,
        restart_after: float = RESTART_SECONDS,
        stop_timeout: float = STOP_TIMEOUT,
        hand_over_after: float = HAND_OVER_SECONDS,
    ) -> None:
        self._restart_after = restart_after
        self.stop_timeout = stop_timeout
        self.hand_over_after = hand_over_after
        self._running = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
        self._channel: socket.socket | None = None
        self._players: dict[int, WorkerPlayer] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self._restart: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Messages waiting for room in the channel (a busy worker), in order; each owns a
        # duplicate of the socket it hands over, so a leg closing meanwhile changes nothing.
        self._outbox: deque[tuple[bytes, int | None]] = deque()

    @property
    def running(self) -> bool:
        """Tell whether a worker process takes streams now."""
        return self._channel is not None

    @property
    def pid(self) -> int | None:
        """Return the worker's process id while it runs."""
        return self._process.pid if self._process is not None and self.running else None

    async def start(self) -> None:
        """Start the worker process; if it cannot start, players play in-process (logged)."""
        if self._closed or self._channel is not None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "telephony.rtp.worker_process",
                str(theirs.fileno()),
                pass_fds=[theirs.fileno()],
                stdin=asyncio.subprocess.DEVNULL,
            )
        except OSError as exc:
            ours.close()
            log.error("audio worker could not start (%s); audio plays in-process", exc)
            self._schedule_restart()
            return
        finally:
            theirs.close()
        ours.setblocking(False)
        self._channel = ours
        asyncio.get_running_loop().add_reader(ours.fileno(), self._readable)
        self._running.set()

    async def wait_running(self) -> None:
        """Return once a worker process takes streams (at once if one does)."""
        await self._running.wait()

    def player(self, leg: RelayLeg, tone: Tone, payload_type: int) -> WorkerPlayer:
        """Return a player of `tone` into `leg` (started with `start`)."""
        return WorkerPlayer(self, leg, tone, payload_type)

    def play(self, player: WorkerPlayer) -> int | None:
        """Hand a stream and the leg's socket to the worker; None if it cannot take it now."""
        channel, fd = self._channel, player.leg.socket_fd()
        if channel is None or fd is None:
            return None
        stream_id = next(self._ids)
        if not self._write(json.dumps(player.play_message(stream_id)).encode(), fd):
            return None
        self._players[stream_id] = player
        return stream_id

    def send(self, message: dict[str, Any]) -> bool:
        """Send the worker a message; False if it is gone (its players went in-process)."""
        return self._write(json.dumps(message).encode(), None)

    def _write(self, data: bytes, fd: int | None) -> bool:
        channel = self._channel
        if channel is None:
            return False
        if not self._outbox:
            try:
                _send(channel, data, fd)
                return True
            except BlockingIOError:
                asyncio.get_running_loop().add_writer(channel.fileno(), self._writable)
            except OSError as exc:
                self._lost(f"the channel failed ({type(exc).__name__})")
                return False
        self._outbox.append((data, None if fd is None else os.dup(fd)))
        return True

    def _writable(self) -> None:
        channel = self._channel
        while channel is not None and self._outbox:
            data, fd = self._outbox[0]
            try:
                _send(channel, data, fd)
            except BlockingIOError:
                return
            except OSError as exc:
                self._lost(f"the channel failed ({type(exc).__name__})")
                return
            self._outbox.popleft()
            if fd is not None:
                os.close(fd)
        if channel is not None:
            asyncio.get_running_loop().remove_writer(channel.fileno())

    def forget(self, stream_id: int) -> None:
        """Drop a stopped stream."""
        self._players.pop(stream_id, None)

    async def close(self) -> None:
        """Stop the worker (it exits when its channel closes) and wait for it."""
        self._closed = True
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        for task in list(self._tasks):
            task.cancel()
        self._disconnect()
        for player in list(self._players.values()):
            player.worker_lost()
        self._players.clear()
        process, self._process = self._process, None
        if process is not None:
            try:
                async with asyncio.timeout(self.stop_timeout):
                    await process.wait()
            except TimeoutError:
                log.error("audio worker did not exit with its channel closed; killing it")
                await _reap(process)

    def _readable(self) -> None:
        channel = self._channel
        if channel is None:
            return
        while True:
            try:
                data = channel.recv(4096)
            except BlockingIOError:
                return
            except OSError as exc:
                self._lost(f"the channel failed ({type(exc).__name__})")
                return
            if not data:
                self._lost("it exited")
                return
            try:
                reply = json.loads(data)
            except ValueError:
                log.warning("audio worker sent an unreadable reply")
                continue
            player = self._players.get(int(reply.get("id", 0)))
            if player is not None and reply.get("op") == "stopped":
                player.stopped(reply)

    def _disconnect(self) -> None:
        self._running.clear()
        channel, self._channel = self._channel, None
        if channel is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(channel.fileno())
            loop.remove_writer(channel.fileno())
            channel.close()
        for _, fd in self._outbox:
            if fd is not None:
                os.close(fd)
        self._outbox.clear()

    def abandon(self, why: str) -> None:
        """Give the worker up (it is killed): its streams go on in-process; restart later."""
        self._lost(why)

    def _lost(self, why: str) -> None:
        if self._channel is None:
            return
        log.error("audio worker lost: %s; its %d streams go on in-process", why, len(self._players))
        self._disconnect()
        players, self._players = list(self._players.values()), {}
        for player in players:
            player.worker_lost()
        process, self._process = self._process, None
        if process is not None:
            task = asyncio.get_running_loop().create_task(_reap(process))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._schedule_restart()

    def _schedule_restart(self) -> None:
        if self._closed or self._restart is not None:
            return
        loop = asyncio.get_running_loop()
        self._restart = loop.call_later(self._restart_after, self._restart_now)

    def _restart_now(self) -> None:
        self._restart = None
        task = asyncio.get_running_loop().create_task(self.start())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _send(channel: socket.socket, data: bytes, fd: int | None) -> None:
    if fd is None:
        channel.send(data)
    else:
        socket.send_fds(channel, [data], [fd])


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for a lost worker to end (kill it if it still runs), so no zombie is left."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()
