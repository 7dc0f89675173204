"""`switchboard serve` with one call in progress that ends when a line arrives on stdin.

A stand-in for telephony's drain hook, run as a real process by test_serve.py: it prints
`draining` when serve asks it to stop, then `call ended` when stdin gives it a line, or
`call cut` when the grace period's deadline comes first.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from config.app import create_app
from config.commands.serve import serve
from config.drain import add_drain_hook
from config.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


async def call_in_progress(deadline: float) -> None:
    """Wait for the call to end (a line on stdin) until the deadline."""
    loop = asyncio.get_running_loop()
    print("draining", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await asyncio.wait_for(reader.readline(), max(deadline - loop.time(), 0.0))
    except TimeoutError:
        print("call cut", flush=True)
    else:
        print("call ended", flush=True)


def main(data_dir: str, grace_s: str) -> None:
    """Serve on a free port until SIGTERM, with the call above to drain."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings(
        config_file=EXAMPLE,
        data_dir=Path(data_dir),
        web_port=0,
        shutdown_grace_s=float(grace_s),
    )
    app = create_app(settings)
    add_drain_hook(app, call_in_progress)
    asyncio.run(serve(app))


if __name__ == "__main__":
    main(*sys.argv[1:])
