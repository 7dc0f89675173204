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

__all__ = ["LOOPS", "run", "tune_gc"]

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
# third figure keeps full passes as rare as before (one per 2,000 young passes).
GC_THRESHOLDS = (50_000, 2, 1_000)


def tune_gc() -> None:
    """Freeze what exists now (imports, settings) out of the collector; collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run(main: Coroutine[Any, Any, T], *, loop: str | None = None) -> T:
    """Run `main` to completion on `loop` ("uvloop" or "asyncio"; default: the first of LOOPS)."""
    name = loop or LOOPS[0]
    if name not in LOOPS:
        main.close()
        raise ValueError(f"event loop {name!r} is not available (have {', '.join(LOOPS)})")
    tune_gc()
    if name == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
