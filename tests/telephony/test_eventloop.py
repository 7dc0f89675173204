"""telephony.eventloop runs a coroutine on uvloop or asyncio, with the collector tuned."""

from __future__ import annotations

import asyncio
import gc
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
