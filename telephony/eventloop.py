"""Run a Switchboard process's event loop: uvloop when installed, and a GC tuned for calls.

Both are measured on the SIP call path (bench/sip_cps): uvloop's C event loop and UDP transport
took about a fifth off the CPU per call; the default collector thresholds (a young-generation
pass every 700 allocations) spent about a quarter of a bridged call's CPU walking the
transactions that live on for their 32 s timers. The standard asyncio loop still works: it
is used when uvloop is missing or `loop="asyncio"` asks for it.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LOOPS", "GcPacer", "run", "tune_gc"]

T = TypeVar("T")

# Event loops `run` can use, the default first.
LOOPS: tuple[str, ...] = (
    ("uvloop", "asyncio") if importlib.util.find_spec("uvloop") is not None else ("asyncio",)
)
# Young objects allocated between collections (CPython's default is 700), and how many
# collections of each generation trigger one of the next (defaults 10 and 10). Calls leave
# transactions lingering 32 s, so nearly every young object survives its first pass, and a
# middle-generation pass walks about threshold0 x threshold1 of them: with 20 that was ~1M
# objects and a 1.6 s stall at 500 calls/s (bench/sip_cps timing passes with gc.callbacks),
# which left SIP unanswered long enough to fail calls. With 2, a pass walks ~150,000. The
# third figure: see below.
GC_THRESHOLDS = (50_000, 2, 4_000)

# The young generations are also collected on a clock, every GC_PACE_SECONDS (the middle one
# every GC_MIDDLE_EVERY ticks). CPython 3.11 counts allocations *minus deallocations* towards
# threshold0, and under steady load calls that end (their lingering transactions freed 32 s
# later) offset the calls that start: the count stays low while the young list grows, and the
# pass that comes at last walks 100,000+ objects (75-100 ms, timed with gc.callbacks in the
# screen-pop bench at 500 calls/s). On a clock a young pass walks what 50 ms left behind
# (~5 ms) and a middle pass ~20-30 ms. Each middle pass counts towards a full one, so the
# third threshold is 4,000: a full pass is considered every ~200 s, not every 50 (and then
# only if the old generation grew by a quarter: CPython's own rule).
GC_PACE_SECONDS = 0.05
GC_MIDDLE_EVERY = 5


def tune_gc() -> None:
    """Freeze what exists now (imports, settings) out of the collector; collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class GcPacer:
    """Collect the young generations on the event loop's clock (see GC_PACE_SECONDS)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ticks = 0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Tick from now on."""
        if self._handle is None:
            self._handle = self._loop.call_later(GC_PACE_SECONDS, self._tick)

    def stop(self) -> None:
        """Stop ticking (the collector's own thresholds still apply)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        self._ticks += 1
        gc.collect(1 if self._ticks % GC_MIDDLE_EVERY == 0 else 0)
        self._handle = self._loop.call_later(GC_PACE_SECONDS, self._tick)


async def _paced(main: Coroutine[Any, Any, T]) -> T:
    pacer = GcPacer(asyncio.get_running_loop())
    pacer.start()
    try:
        return await main
    finally:
        pacer.stop()


def run(main: Coroutine[Any, Any, T], *, loop: str | None = None) -> T:
    """Run `main` to completion on `loop` ("uvloop" or "asyncio"; default: the first of LOOPS)."""
    name = loop or LOOPS[0]
    if name not in LOOPS:
        main.close()
        raise ValueError(f"event loop {name!r} is not available (have {', '.join(LOOPS)})")
    tune_gc()
    if name == "uvloop":
        import uvloop

        return uvloop.run(_paced(main))
    return asyncio.run(_paced(main))
