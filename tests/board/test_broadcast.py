"""The fan-out: one encoding per tick for every board, a bounded queue per connection."""

from __future__ import annotations

import json

from board.broadcast import Broadcaster


async def test_each_tick_builds_and_encodes_one_frame_for_every_board() -> None:
    builds: list[int] = []

    def build() -> dict[str, object]:
        builds.append(1)
        return {"type": "board", "n": len(builds)}

    caster = Broadcaster(build, queue_size=2)
    boards = [caster.connect() for _ in range(50)]
    assert len(builds) == 1  # the first board built the greeting; the others reused it
    first = [await b.next() for b in boards]
    assert all(frame is first[0] for frame in first)
    caster.tick()
    assert len(builds) == 2 and caster.frames_built == 2
    frames = [await b.next() for b in boards]
    assert all(frame is frames[0] for frame in frames)  # the same bytes object: encoded once
    assert json.loads(frames[0]) == {"type": "board", "n": 2}


async def test_a_slow_board_keeps_only_its_newest_frames_and_delays_nobody() -> None:
    caster = Broadcaster(lambda: {"t": caster.frames_built}, queue_size=2)
    slow, fast = caster.connect(), caster.connect()
    await fast.next()
    for _ in range(5):
        caster.tick()
        assert json.loads(await fast.next())["t"] == caster.frames_built - 1
    assert slow.queued == 2 and slow.dropped == 4  # greeting + 5 ticks, 2 kept
    assert [json.loads(await slow.next())["t"] for _ in range(2)] == [4, 5]


async def test_nothing_is_built_while_nobody_watches() -> None:
    built: list[int] = []
    caster = Broadcaster(lambda: built.append(1) or {}, queue_size=1)
    caster.tick()
    assert built == []
    board = caster.connect()
    caster.disconnect(board)
    caster.tick()
    assert built == [1]
