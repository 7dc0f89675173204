"""The one crossing from pyVoIP's threads into the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

__all__ = ["LoopBridge"]

log = logging.getLogger(__name__)


class LoopBridge:
    """Run callbacks on the event loop from any thread, via `call_soon_threadsafe`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def post(self, callback: Callable[..., object], *args: object) -> None:
        """Schedule `callback(*args)` on the loop; dropped with a log line if the loop is gone."""
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            # The loop closed while a pyVoIP thread was still winding down.
            log.debug("event loop closed; dropped a pyVoIP event")
