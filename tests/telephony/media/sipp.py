"""Run sipp as a real SIP peer from media tests, on ephemeral ports, always cleaned up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tests.support import require_tool

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP_WAIT = 30.0


def scenario(name: str, directory: Path, **replacements: str) -> Path:
    """Copy a scenario into `directory`, filling in the given placeholders."""
    text = (SCENARIOS / name).read_text(encoding="utf-8")
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def sipp(*args: str, cwd: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start sipp unattended; kill it on the way out if it has not finished by then."""
    binary = require_tool("sipp")
    process = await asyncio.create_subprocess_exec(
        binary,
        *args,
        "-nostdin",
        "-timeout",
        "20s",
        "-timeout_error",
        "-trace_err",
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def finished(process: asyncio.subprocess.Process, what: str, directory: Path) -> None:
    """Wait for sipp to end and check that its call succeeded (exit code 0)."""
    code = await asyncio.wait_for(process.wait(), SIPP_WAIT)
    assert code == 0, f"{what} sipp exited with {code}: {error_log(directory)}"


def error_log(directory: Path) -> str:
    """Return the tail of sipp's error logs in a directory (for failure messages)."""
    return "".join(p.read_text(errors="replace") for p in directory.glob("*_errors.log"))[-2000:]
