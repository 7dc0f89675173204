"""`switchboard serve` stops gracefully: drain within the grace period, then close, exit 0."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import config.drain
from config.drain import add_drain_hook, drain, stop_taking_work

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    """A serve process with one call in progress (tests/e2e/drain_app.py)."""

    process: asyncio.subprocess.Process
    base: str

    async def line(self) -> str:
        """Return the next line the process prints."""
        assert self.process.stdout is not None
        return (await asyncio.wait_for(self.process.stdout.readline(), 30)).decode().strip()

    async def healthy(self) -> bool:
        """Tell whether the web side still answers."""
        async with aiohttp.ClientSession() as http, http.get(f"{self.base}/healthz") as response:
            return response.status == 200

    async def finish(self) -> str:
        """Wait for the exit and return the log; the exit must be 0."""
        _, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        log = stderr.decode()
        assert self.process.returncode == 0, log
        assert "Traceback" not in log
        return log


async def start_served(tmp_path: Path, grace_s: float) -> Served:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.drain_app",
        str(tmp_path),
        str(grace_s),
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    served = Served(process, "")
    line = await served.line()
    assert line.startswith("listening on http://"), line
    served.base = line.split()[-1]
    return served


@pytest.fixture
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    running = await start_served(tmp_path, request.param)
    try:
        yield running
    finally:
        if running.process.returncode is None:
            running.process.kill()
            await running.process.wait()


@pytest.mark.parametrize("served", [60.0], indirect=True)
async def test_sigterm_lets_the_call_finish_with_the_console_up_then_exits_0(
    served: Served,
) -> None:
    served.process.send_signal(signal.SIGTERM)
    assert await served.line() == "draining"
    # The agent on the call still has the console while the call drains.
    assert await served.healthy()
    assert served.process.returncode is None
    assert served.process.stdin is not None
    served.process.stdin.write(b"bye\n")
    await served.process.stdin.drain()
    assert await served.line() == "call ended"
    log = await served.finish()
    assert "stopping on SIGTERM" in log
    assert log.rstrip().endswith("stopped")


@pytest.mark.parametrize("served", [0.5], indirect=True)
async def test_a_call_outliving_the_grace_period_is_cut_and_the_exit_is_still_0(
    served: Served,
) -> None:
    served.process.send_signal(signal.SIGTERM)
    assert await served.line() == "draining"
    assert await served.line() == "call cut"
    log = await served.finish()
    assert log.rstrip().endswith("stopped")


@pytest.mark.parametrize("served", [60.0], indirect=True)
async def test_a_second_signal_cuts_the_drain_short(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    assert await served.line() == "draining"
    served.process.send_signal(signal.SIGINT)
    log = await served.finish()
    assert "second signal" in log
    assert log.rstrip().endswith("stopped")


async def test_drain_runs_hooks_together_with_one_deadline() -> None:
    app = web.Application()
    deadlines: list[float] = []
    both = asyncio.Barrier(2)

    async def hook(deadline: float) -> None:
        deadlines.append(deadline)
        await both.wait()  # finishes only if the other hook runs at the same time

    add_drain_hook(app, hook)
    add_drain_hook(app, hook)
    assert await asyncio.wait_for(drain(app, 30.0), 10)
    assert len(deadlines) == 2 and deadlines[0] == deadlines[1]
    assert deadlines[0] > asyncio.get_running_loop().time() + 20


async def test_stop_steps_run_at_once_and_a_failing_one_does_not_stop_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = web.Application()
    order: list[str] = []

    async def hook(deadline: float) -> None:
        order.append("hook")

    def broken() -> None:
        raise RuntimeError("stop broke")

    add_drain_hook(app, hook, stop=broken)
    add_drain_hook(app, hook, stop=lambda: order.append("stop"))
    with caplog.at_level(logging.ERROR, logger="config.drain"):
        stop_taking_work(app)
    # Synchronously, before any hook ran: nothing can slip in between.
    assert order == ["stop"]
    assert "stop broke" in caplog.text
    assert await asyncio.wait_for(drain(app, 30.0), 10)
    assert order == ["stop", "hook", "hook"]


async def test_drain_without_hooks_is_done() -> None:
    assert await drain(web.Application(), 30.0)


async def test_drain_cancels_an_overrunning_hook_and_logs_a_failing_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(config.drain, "OVERRUN_S", 0.05)
    app = web.Application()
    cancelled = asyncio.Event()

    async def stuck(deadline: float) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    async def broken(deadline: float) -> None:
        raise RuntimeError("hook broke")

    add_drain_hook(app, stuck)
    add_drain_hook(app, broken)
    with caplog.at_level(logging.WARNING, logger="config.drain"):
        assert not await asyncio.wait_for(drain(app, 0.0), 10)
    assert cancelled.is_set()
    assert "outlived" in caplog.text
    assert "hook broke" in caplog.text
