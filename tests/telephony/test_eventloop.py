"""telephony.eventloop runs a coroutine on uvloop or asyncio, with the collector tuned."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from telephony import eventloop


@pytest.fixture
def gc_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_is_the_default_and_asyncio_still_works(gc_restored: None) -> None:
    assert eventloop.LOOPS[0] == "uvloop"  # a dependency of the project
    assert eventloop.run(_loop_module()).startswith("uvloop")
    assert eventloop.run(_loop_module(), loop="asyncio").startswith("asyncio")
    assert gc.get_threshold() == eventloop.GC_THRESHOLDS
    assert gc.get_freeze_count() > 0


def test_an_unknown_loop_is_refused_and_the_coroutine_closed(gc_restored: None) -> None:
    main = _loop_module()
    with pytest.raises(ValueError, match="not available"):
        eventloop.run(main, loop="trio")
    assert main.cr_frame is None  # closed: no "never awaited" warning


async def _cycle_collected() -> bool:
    """Drop a reference cycle and wait until the collector has freed it."""
    loop = asyncio.get_running_loop()
    freed: asyncio.Future[bool] = loop.create_future()

    class Node:
        other: object = None

    first, second = Node(), Node()
    first.other, second.other = second, first
    weakref.finalize(first, lambda: loop.call_soon_threadsafe(freed.set_result, True))
    del first, second
    # Far fewer allocations than threshold0 happen meanwhile: only the pacer's clock collects.
    return await asyncio.wait_for(freed, 5)


def test_the_young_generations_are_collected_on_the_loops_clock(gc_restored: None) -> None:
    assert eventloop.run(_cycle_collected())
    assert eventloop.run(_cycle_collected(), loop="asyncio")


async def test_the_pacer_collects_where_the_thresholds_would_not(gc_restored: None) -> None:
    pacer = eventloop.GcPacer(asyncio.get_running_loop())
    gc.set_threshold(10**9)
    pacer.start()
    collections = gc.get_stats()[0]["collections"]
    await asyncio.wait_for(_cycle_collected(), 5)
    assert gc.get_stats()[0]["collections"] > collections
    pacer.stop()
    pacer.stop()  # harmless twice
