"""Wire recordings into the app: one store in typed app state, and retention run daily."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from recording.store import RecordingStore

__all__ = ["RECORDINGS", "setup"]

log = logging.getLogger(__name__)

RECORDINGS = web.AppKey("recordings", RecordingStore)
DAY = 24 * 3600.0


def setup(app: web.Application, store: RecordingStore, *, purge_every: float = DAY) -> None:
    """Put `store` in `app[RECORDINGS]`, purge old recordings now and every `purge_every` s."""

    async def recordings(app: web.Application) -> AsyncIterator[None]:
        app[RECORDINGS] = store
        await _purge(store)
        task = asyncio.create_task(_retention(store, purge_every), name="recording-retention")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()

    app.cleanup_ctx.append(recordings)


async def _purge(store: RecordingStore) -> None:
    try:
        await store.purge()
    except OSError as exc:
        # A full or read-only disk must not stop calls; the next round tries again.
        log.error("recording retention failed: %s", type(exc).__name__)


async def _retention(store: RecordingStore, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await _purge(store)
