"""The RTP relay with real UDP sockets on loopback and two fake phones."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from telephony.rtp.packet import build_packet, parse_header
from telephony.rtp.ports import PortAllocator, PortsExhaustedError
from telephony.rtp.relay import RelaySession, RtpRelay, Side
from tests.ports import free_port_run
from tests.telephony.media.phones import Phone

HOST = "127.0.0.1"


@pytest.fixture
async def phones() -> AsyncIterator[tuple[Phone, Phone]]:
    caller, agent = await Phone.open(), await Phone.open()
    yield caller, agent
    caller.close()
    agent.close()


async def bridged(
    relay: RtpRelay, caller: Phone, agent: Phone, tee: list[tuple[str, bytes]]
) -> RelaySession:
    session = await relay.open_session(tee=lambda side, packet: tee.append((side, packet)))
    session.caller.expect(HOST, caller.port)
    session.agent.expect(HOST, agent.port)
    return session


def audio(seq: int, ssrc: int = 0x1234, fill: int = 0xFF) -> bytes:
    return build_packet(0, seq, seq * 160, ssrc, bytes([fill]) * 160, marker=seq == 0)


async def test_packets_cross_both_ways_unchanged_and_are_teed(phones: tuple[Phone, Phone]) -> None:
    caller, agent = phones
    relay = RtpRelay(HOST)
    tee: list[tuple[str, bytes]] = []
    session = await bridged(relay, caller, agent, tee)
    for seq in range(5):
        sent = audio(seq)
        caller.send(sent, session.caller.local_port)
        data, source = await agent.next()
        assert data == sent
        # The agent sees the packet coming from the relay's agent-side port.
        assert source == (HOST, session.agent.local_port)
        reply = audio(seq, ssrc=0x9999, fill=0x7F)
        agent.send(reply, session.agent.local_port)
        data, source = await caller.next()
        assert data == reply
        assert source == (HOST, session.caller.local_port)
    assert [side for side, _ in tee] == [Side.CALLER, Side.AGENT] * 5
    assert tee[0][1] == audio(0)
    assert session.caller.stats().packets_received == 5
    assert session.caller.stats().bytes_received == 5 * 172
    assert session.agent.stats().packets_sent == 5
    assert session.caller.stats().dropped == 0
    await relay.close()
    assert relay.sessions == 0


async def test_telephone_events_pass_through_unchanged(phones: tuple[Phone, Phone]) -> None:
    caller, agent = phones
    relay = RtpRelay(HOST)
    session = await bridged(relay, caller, agent, [])
    # RFC 4733 digit 5: start (marker), updates, then three end packets with the same timestamp.
    events = [
        build_packet(
            101,
            10 + i,
            8000,
            0x42,
            bytes([5, end | 10]) + duration.to_bytes(2, "big"),
            marker=i == 0,
        )
        for i, (end, duration) in enumerate(
            [(0, 160), (0, 320), (0x80, 480), (0x80, 480), (0x80, 480)]
        )
    ]
    for event in events:
        caller.send(event, session.caller.local_port)
    received = [(await agent.next())[0] for _ in events]
    assert received == events
    header = parse_header(received[0])
    assert (header.payload_type, header.marker, header.timestamp) == (101, True, 8000)
    await relay.close()


async def test_latches_onto_the_source_port_and_drops_strangers(
    phones: tuple[Phone, Phone],
) -> None:
    caller, agent = phones
    relay = RtpRelay(HOST)
    session = await relay.open_session()
    # The caller's SDP names a port it never sends from (a NAT rewrote it).
    silent = await Phone.open()
    session.caller.expect(HOST, silent.port)
    session.agent.expect(HOST, agent.port)
    assert not session.caller.latched
    # A stranger on another host is dropped before latching.
    stranger = await Phone.open("127.0.0.2")
    stranger.send(audio(99, fill=0x01), session.caller.local_port)
    caller.send(audio(0), session.caller.local_port)
    assert (await agent.next())[0] == audio(0)
    assert session.caller.latched
    assert session.caller.remote == (HOST, caller.port)
    assert session.caller.dropped == 1
    # Agent audio now goes to where the caller really sends from, not to the SDP port.
    agent.send(audio(1, fill=0x10), session.agent.local_port)
    assert (await caller.next())[0] == audio(1, fill=0x10)
    assert silent.received.empty()
    # Once latched, another port on the same host is not accepted either.
    intruder = await Phone.open()
    intruder.send(audio(2, fill=0x02), session.caller.local_port)
    caller.send(audio(3), session.caller.local_port)
    assert (await agent.next())[0] == audio(3)
    assert session.caller.dropped == 2
    # A re-INVITE moving the media starts latching afresh.
    session.caller.expect(HOST, intruder.port)
    intruder.send(audio(4), session.caller.local_port)
    assert (await agent.next())[0] == audio(4)
    for phone in (silent, stranger, intruder):
        phone.close()
    await relay.close()


async def test_non_rtp_datagrams_are_dropped(phones: tuple[Phone, Phone]) -> None:
    caller, agent = phones
    relay = RtpRelay(HOST)
    tee: list[tuple[str, bytes]] = []
    session = await bridged(relay, caller, agent, tee)
    caller.send(b"\x00\x01 not rtp", session.caller.local_port)
    caller.send(audio(7), session.caller.local_port)
    assert (await agent.next())[0] == audio(7)
    assert [packet for _, packet in tee] == [audio(7)]
    assert session.caller.dropped == 1
    await relay.close()


def free_port_block(count: int) -> tuple[int, int]:
    """Find room for `count` relay legs (an even RTP port and its RTCP neighbour each)."""
    first = free_port_run(2 * count)
    return first, first + 2 * count - 1


async def test_ports_come_from_the_range_and_are_released(phones: tuple[Phone, Phone]) -> None:
    caller, agent = phones
    first, last = free_port_block(4)
    ports = PortAllocator(first, last)
    relay = RtpRelay(HOST, ports)
    one = await bridged(relay, caller, agent, [])
    two = await relay.open_session()
    used = {
        one.caller.local_port,
        one.agent.local_port,
        two.caller.local_port,
        two.agent.local_port,
    }
    assert len(used) == 4
    assert all(first <= p <= last and p % 2 == 0 for p in used)
    assert ports.free == 0
    with pytest.raises(PortsExhaustedError):
        await relay.open_session()
    caller.send(audio(0), one.caller.local_port)
    assert (await agent.next())[0] == audio(0)
    one.close()
    await one.wait_closed()
    assert ports.free == 2
    # The released ports really are free: the OS lets us bind them again.
    for port in (one.caller.local_port, one.agent.local_port):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as check:
            check.bind((HOST, port))
    await relay.close()
    assert ports.free == 4


async def test_allocator_skips_a_port_held_by_another_process() -> None:
    first, last = free_port_block(2)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind((HOST, first))
        relay = RtpRelay(HOST, PortAllocator(first, last + 2))
        session = await relay.open_session()
        assert first not in (session.caller.local_port, session.agent.local_port)
        await relay.close()


async def test_a_host_name_is_resolved_once_and_its_address_bound() -> None:
    relay = RtpRelay("localhost")
    session = await relay.open_session()
    phone = await Phone.open()
    session.caller.expect("127.0.0.1", phone.port)
    phone.send(audio(0), session.caller.local_port)
    session.agent.expect("127.0.0.1", phone.port)
    data, source = await phone.next()  # relayed: the caller leg took it on 127.0.0.1
    assert source == ("127.0.0.1", session.agent.local_port)
    assert parse_header(data).sequence == 0
    phone.close()
    await relay.close()


def test_allocator_rejects_bad_ranges() -> None:
    with pytest.raises(ValueError, match="range"):
        PortAllocator(80, 100)
    with pytest.raises(ValueError, match="even"):
        PortAllocator(20001, 20001)


async def test_leg_without_address_does_not_send() -> None:
    relay = RtpRelay(HOST)
    session = await relay.open_session()
    session.caller.send(audio(0))
    assert session.caller.stats().dropped == 1
    await relay.close()
    # Closing twice is harmless.
    session.close()
    await asyncio.wait_for(session.wait_closed(), 1)


async def test_forwarding_off_keeps_a_queued_callers_audio_from_the_agent_leg(
    phones: tuple[Phone, Phone],
) -> None:
    caller, agent = phones
    relay = RtpRelay(HOST)
    teed: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    session = await relay.open_session(tee=lambda side, packet: teed.put_nowait((side, packet)))
    session.caller.expect(HOST, caller.port)
    session.agent.expect(HOST, agent.port)
    session.forwarding = False
    caller.send(audio(0), session.caller.local_port)
    agent.send(audio(1, fill=0x11), session.agent.local_port)
    # The relay has handled both packets once the tee has seen them.
    seen = {await asyncio.wait_for(teed.get(), 5), await asyncio.wait_for(teed.get(), 5)}
    assert seen == {(Side.CALLER, audio(0)), (Side.AGENT, audio(1, fill=0x11))}
    # Hold audio still reaches the caller through its own leg; nothing else does.
    session.caller.send(audio(2, fill=0x22))
    assert (await caller.next())[0] == audio(2, fill=0x22)
    session.forwarding = True
    caller.send(audio(3), session.caller.local_port)
    assert (await agent.next())[0] == audio(3)
    assert caller.received.empty()
    assert agent.received.empty()
    await relay.close()


async def test_a_failing_tee_is_detached_and_audio_keeps_flowing(
    phones: tuple[Phone, Phone], caplog: pytest.LogCaptureFixture
) -> None:
    caller, agent = phones
    relay = RtpRelay(HOST)
    calls: list[str] = []

    def broken(side: str, packet: bytes) -> None:
        calls.append(side)
        raise OSError("disk full")

    session = await relay.open_session(tee=broken)
    session.caller.expect(HOST, caller.port)
    session.agent.expect(HOST, agent.port)
    for seq in range(3):
        caller.send(audio(seq), session.caller.local_port)
        assert (await agent.next())[0] == audio(seq)
    assert calls == ["caller"]
    assert session.tee is None
    assert "RTP tee failed" in caplog.text
    await relay.close()
