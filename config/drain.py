"""Graceful stop: the hooks `switchboard serve` runs on SIGTERM before it closes anything.

A package that holds work in progress (telephony's calls) adds a hook with `add_drain_hook`
when the composition root builds the app. On SIGTERM, serve awaits every hook at once with
the deadline of the grace period, while the web console still serves (agents on a call need
it), then closes the app: cleanup contexts tear down in reverse, the event log flushing last.
A hook lets work in progress finish until the deadline, then ends or hands off what is left;
one that outlives the deadline is cancelled and logged. Taking no new work is a separate,
synchronous step (`stop`, run by `stop_taking_work` as the signal is handled): a hook only
starts on a later turn of the event loop, and a call arriving in between would be taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

# Gets the deadline on the running loop's clock (`loop.time()`).
DrainHook = Callable[[float], Awaitable[None]]


class DrainHooks:
    """The hooks of one app, in the order they were added, and their stop steps."""

    def __init__(self) -> None:
        self.hooks: list[DrainHook] = []
        self.stops: list[Callable[[], None]] = []


DRAIN_HOOKS = web.AppKey("config.drain_hooks", DrainHooks)

# Time a hook gets past the deadline to end what is left before it is cancelled.
OVERRUN_S = 2.0


def add_drain_hook(
    app: web.Application, hook: DrainHook, *, stop: Callable[[], None] | None = None
) -> None:
    """Run `hook` when the service is asked to stop, before anything closes.

    `stop`, if given, makes the package take no new work; it runs first, synchronously.
    """
    if DRAIN_HOOKS not in app:
        app[DRAIN_HOOKS] = DrainHooks()
    app[DRAIN_HOOKS].hooks.append(hook)
    if stop is not None:
        app[DRAIN_HOOKS].stops.append(stop)


def stop_taking_work(app: web.Application) -> None:
    """Run every hook's stop step now: from here on, no package takes new work."""
    for stop in app[DRAIN_HOOKS].stops if DRAIN_HOOKS in app else []:
        try:
            stop()
        except Exception:
            log.exception("a drain stop step failed")


async def drain(app: web.Application, grace_s: float) -> bool:
    """Run every drain hook concurrently within `grace_s`; return True if all finished."""
    hooks = list(app[DRAIN_HOOKS].hooks) if DRAIN_HOOKS in app else []
    if not hooks:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    tasks = [asyncio.ensure_future(hook(deadline)) for hook in hooks]
    try:
        done, pending = await asyncio.wait(tasks, timeout=grace_s + OVERRUN_S)
    except asyncio.CancelledError:
        # Cut short (a second signal): the hooks stop too, and their packages' cleanup
        # contexts end whatever they still held.
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        raise
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        log.warning("%d drain hook(s) outlived the %.0f s grace period", len(pending), grace_s)
    failed = [task for task in done if not task.cancelled() and task.exception() is not None]
    for task in failed:
        log.error("a drain hook failed", exc_info=task.exception())
    return not pending and not failed
