"""The console fan-out: a stale frame is replaced, never queued without bound, and a console
that reads nothing never delays another's pop."""

from __future__ import annotations

import asyncio

from agents.console import Hub
from agents.console.hub import POP, QUEUES, STATE


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
