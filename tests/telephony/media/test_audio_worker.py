"""The audio worker process plays tones out of relay legs' sockets; nothing stops if it dies."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
from collections.abc import AsyncIterator

import pytest

from telephony.rtp.packet import parse_header
from telephony.rtp.relay import RelaySession, RtpRelay
from telephony.rtp.tone import Tone
from telephony.rtp.worker import AudioWorker
from tests.telephony.media.phones import Phone

TONE = Tone((425.0,))
# 60 ms on, 40 ms off: three packets, then a two-frame gap.
CADENCED = Tone((425.0,), (0.06, 0.04))


@pytest.fixture
async def worker() -> AsyncIterator[AudioWorker]:
    # Streams go to the worker at once (hand_over_after=0), so these tests see it play.
    worker = AudioWorker(restart_after=0.05, hand_over_after=0)
    await worker.start()
    assert worker.running
    yield worker
    await worker.close()


async def session_to(relay: RtpRelay, phone: Phone) -> RelaySession:
    session = await relay.open_session()
    session.caller.expect("127.0.0.1", phone.port)
    return session


async def relayed_caller(worker: AudioWorker) -> tuple[RtpRelay, Phone, RelaySession]:
    """Return a relay playing through `worker`, a caller's phone and a session facing it."""
    relay = RtpRelay("127.0.0.1", audio_worker=worker)
    caller = await Phone.open()
    return relay, caller, await session_to(relay, caller)


async def test_the_worker_sends_the_stream_from_the_legs_port(worker: AudioWorker) -> None:
    relay, caller, session = await relayed_caller(worker)
    player = worker.player(session.caller, CADENCED, 0)
    player.start()
    assert player.playing
    received = [await caller.next() for _ in range(9)]
    await player.stop()
    assert not player.playing
    assert {source for _, source in received} == {("127.0.0.1", session.caller.local_port)}
    headers = [parse_header(data) for data, _ in received]
    assert {h.ssrc for h in headers} == {player.stream.ssrc}
    assert [h.marker for h in headers] == [True, False, False] * 3
    for before, after in itertools.pairwise(headers):
        assert after.sequence == (before.sequence + 1) & 0xFFFF
        gap = 3 if after.marker else 1
        assert after.timestamp == (before.timestamp + gap * 160) & 0xFFFFFFFF
    # The stop reports what the worker sent, and where the stream stands.
    assert player.packets_sent >= 9
    assert player.stream.sequence == (headers[0].sequence + player.packets_sent) & 0xFFFF
    caller.close()
    await relay.close()


async def test_after_a_stop_the_worker_holds_no_copy_of_the_socket(worker: AudioWorker) -> None:
    relay, caller, session = await relayed_caller(worker)
    port = session.caller.local_port
    player = worker.player(session.caller, TONE, 0)
    player.start()
    await caller.next()
    await player.stop()
    session.close()
    await session.wait_closed()
    # The port is free again: no copy of the socket lives on in the worker.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", port))
    probe.close()
    caller.close()
    await relay.close()


async def test_a_moved_caller_gets_the_stream_at_its_new_address(worker: AudioWorker) -> None:
    relay = RtpRelay("127.0.0.1", audio_worker=worker)
    first, second = await Phone.open(), await Phone.open()
    session = await session_to(relay, first)
    player = worker.player(session.caller, TONE, 0)
    player.start()
    await first.next()
    session.caller.expect("127.0.0.1", second.port)  # a re-INVITE moved the media
    data, source = await second.next()
    assert source == ("127.0.0.1", session.caller.local_port)
    assert parse_header(data).ssrc == player.stream.ssrc
    await player.stop()
    first.close()
    second.close()
    await relay.close()


async def test_if_the_worker_dies_the_stream_goes_on_in_process(worker: AudioWorker) -> None:
    relay, caller, session = await relayed_caller(worker)
    player = worker.player(session.caller, TONE, 0)
    player.start()
    first = parse_header((await caller.next())[0]).ssrc
    pid = worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # Packets keep coming from the same port; an in-process stream (new SSRC) takes over.
    while True:
        data, source = await caller.next()
        assert source == ("127.0.0.1", session.caller.local_port)
        if parse_header(data).ssrc != first:
            break
    assert player.playing
    # A new worker is started, and new streams go to it.
    await asyncio.wait_for(worker.wait_running(), 5)
    assert worker.pid not in (None, pid)
    await player.stop()
    assert not player.playing
    later = worker.player(session.caller, TONE, 0)
    later.start()
    await caller.next()
    await later.stop()
    assert later.packets_sent >= 1
    caller.close()
    await relay.close()


async def test_without_a_worker_a_player_plays_in_process() -> None:
    worker = AudioWorker()  # never started
    relay, caller, session = await relayed_caller(worker)
    player = worker.player(session.caller, TONE, 0)
    player.start()
    await caller.next()
    assert player.playing
    await player.stop()
    assert player.packets_sent >= 1
    await worker.close()
    caller.close()
    await relay.close()


async def test_the_worker_ignores_what_it_cannot_read(worker: AudioWorker) -> None:
    # A malformed message or an unknown op is logged and dropped; streams still play after it.
    assert worker.send({"op": "dance", "id": 1})
    channel = worker._channel
    assert channel is not None
    channel.send(b"{not json")
    relay, caller, session = await relayed_caller(worker)
    player = worker.player(session.caller, TONE, 0)
    player.start()
    data, _ = await caller.next()
    assert parse_header(data).payload_type == 0
    await player.stop()
    assert worker.running
    caller.close()
    await relay.close()


async def test_streams_handed_to_a_busy_worker_wait_their_turn(worker: AudioWorker) -> None:
    # A stopped worker reads nothing: the channel fills, later messages queue up in order.
    relay, caller, session = await relayed_caller(worker)
    pid = worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        players = [worker.player(session.caller, TONE, 0) for _ in range(600)]
        for player in players:
            player.start()
        assert worker._outbox, "the channel never filled"
        assert all(player.playing for player in players)
    finally:
        os.kill(pid, signal.SIGCONT)
    await asyncio.gather(*(player.stop() for player in players))
    assert not worker._outbox
    # Every stream reached the worker and played before its stop (no fallback in-process).
    assert all(player.packets_sent >= 1 for player in players)
    assert worker.running and worker.pid == pid
    caller.close()
    await relay.close()


async def test_a_worker_that_does_not_answer_a_stop_is_killed_and_replaced() -> None:
    worker = AudioWorker(restart_after=0.05, stop_timeout=0.2, hand_over_after=0)
    await worker.start()
    relay, caller, session = await relayed_caller(worker)
    port = session.caller.local_port
    player = worker.player(session.caller, TONE, 0)
    player.start()
    await caller.next()
    stuck = worker.pid
    assert stuck is not None
    os.kill(stuck, signal.SIGSTOP)
    await player.stop()  # returns after the timeout: the call goes on
    assert not player.playing
    assert not worker.running
    await asyncio.wait_for(worker.wait_running(), 5)
    assert worker.pid not in (None, stuck)
    session.close()
    await session.wait_closed()
    await asyncio.gather(*list(worker._tasks))  # the stuck one killed and reaped
    # The stuck worker was killed, so no copy of the socket is left anywhere.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", port))
    probe.close()
    caller.close()
    await relay.close()
    await worker.close()


async def test_a_stream_starts_in_process_and_the_worker_carries_it_on_seamlessly() -> None:
    worker = AudioWorker(hand_over_after=0.1)
    await worker.start()
    relay, caller, session = await relayed_caller(worker)
    player = worker.player(session.caller, CADENCED, 0)
    player.start()
    assert not worker._players  # a call answered at once never troubles the worker
    headers = [parse_header((await caller.next())[0]) for _ in range(15)]
    assert worker._players  # 0.1 s later the worker sends it
    await player.stop()
    # One stream throughout: the same SSRC, no sequence number missed or repeated, the
    # cadence kept (a two-frame gap after every three packets, only those marked).
    assert {h.ssrc for h in headers} == {player.stream.ssrc}
    assert [h.marker for h in headers] == [True, False, False] * 5
    for before, after in itertools.pairwise(headers):
        assert after.sequence == (before.sequence + 1) & 0xFFFF
        gap = 3 if after.marker else 1
        assert after.timestamp == (before.timestamp + gap * 160) & 0xFFFFFFFF
    assert player.packets_sent >= 15
    caller.close()
    await relay.close()
    await worker.close()
