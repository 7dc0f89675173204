"""The console fan-out: a stale frame is replaced, never queued without bound, and a console
that reads nothing never delays another's pop."""

from __future__ import annotations

import asyncio

import pytest

from agents.console import Hub
from agents.console.hub import POP, QUEUES, STATE, text_frame


async def test_a_slow_console_holds_one_frame_of_each_kind() -> None:
    hub = Hub()
    slow = hub.connect("ada")
    for n in range(1000):
        hub.push("ada", STATE, b'{"n": %d}' % n)
        hub.broadcast(QUEUES, b'{"q": %d}' % n)
    assert slow.queued == 2
    assert slow.replaced == 2 * 999
    # The newest of each kind, in the order the kinds first waited.
    assert await slow.next() == b'{"n": 999}'
    assert await slow.next() == b'{"q": 999}'


async def test_a_stuck_console_does_not_delay_another_agents_pop() -> None:
    hub = Hub()
    stuck = hub.connect("ada")  # never read
    for n in range(10_000):
        hub.broadcast(QUEUES, b"%d" % n)
    fast = hub.connect("bob")
    waiting = asyncio.create_task(fast.next())
    hub.push("bob", POP, b'{"pop": "bob"}')
    assert await asyncio.wait_for(waiting, 5) == b'{"pop": "bob"}'
    assert stuck.queued == 1


async def test_every_console_of_an_agent_gets_the_frame_and_closed_ones_none() -> None:
    hub = Hub()
    first, second = hub.connect("ada"), hub.connect("ada")
    assert hub.push("ada", STATE, b"s") == 2
    hub.disconnect(first)
    hub.disconnect(first)  # twice is harmless
    assert hub.connections == 1
    assert hub.push("ada", STATE, b"t") == 1
    assert await second.next() == b"t"
    hub.disconnect(second)
    assert not hub.watching("ada")
    assert hub.push("ada", STATE, b"u") == 0


async def test_a_pop_leaves_before_the_frames_already_waiting() -> None:
    hub = Hub()
    console = hub.connect("ada")
    hub.push("ada", STATE, b"state")
    hub.broadcast(QUEUES, b"queues")
    hub.push("ada", POP, b"pop")
    assert [await console.next() for _ in range(3)] == [b"pop", b"state", b"queues"]


async def test_a_broadcast_yields_between_chunks_so_a_pop_goes_out_first() -> None:
    hub = Hub()
    consoles = [hub.connect(f"agent{n}") for n in range(1000)]
    sent: list[tuple[str, bytes]] = []

    async def sender(n: int) -> None:
        while True:
            sent.append((f"agent{n}", await consoles[n].next()))

    senders = [asyncio.create_task(sender(n)) for n in range(1000)]
    await asyncio.sleep(0)  # every sender waits for its first frame
    broadcast = asyncio.create_task(hub.broadcast_in_chunks(QUEUES, b"queues", chunk=100))
    await asyncio.sleep(0)  # the first chunk is offered, the rest waits
    hub.push("agent999", POP, b"pop")
    await broadcast
    await asyncio.sleep(0)
    for task in senders:
        task.cancel()
    await asyncio.gather(*senders, return_exceptions=True)
    assert sorted(sent) == sorted(
        [(f"agent{n}", b"queues") for n in range(1000)] + [("agent999", b"pop")]
    )
    # The pop went out with the first chunk's sends, not after the 900 others.
    assert sent.index(("agent999", b"pop")) <= 100


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_a_board_frame_is_one_unmasked_final_text_frame(size: int) -> None:
    payload = b"x" * size
    wire = text_frame(payload)
    assert wire[0] == 0x81  # FIN, no RSV bits (uncompressed), opcode text
    assert wire[1] & 0x80 == 0  # a server's frames carry no mask
    if size < 126:
        header = 2
        assert wire[1] == size
    elif size < 65536:
        header = 4
        assert wire[1] == 126 and int.from_bytes(wire[2:4]) == size
    else:
        header = 10
        assert wire[1] == 127 and int.from_bytes(wire[2:10]) == size
    assert wire[header:] == payload
