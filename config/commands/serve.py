"""`switchboard serve`: run the service until SIGTERM, then stop it gracefully.

SIGTERM (or SIGINT): drain first (no new calls; calls in progress get `shutdown_grace_s` to
finish, see config.drain) while the web console still serves, then close the web side and every
cleanup context in reverse (the event log flushes as it closes), and exit 0. A second signal
during the drain cuts it short.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from agents.access_log import PrivateAccessLogger
from config.app import SETTINGS, create_app
from config.command_io import read_config
from config.drain import drain, stop_taking_work
from config.settings import load_settings
from telephony import eventloop

log = logging.getLogger("switchboard")

# HTTP requests still open once the drain is over (a long poll, a websocket) get this long.
HTTP_SHUTDOWN_S = 5.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="start the service",
        description="Start Switchboard. Flags override SWITCHBOARD_* environment variables.",
    )
    parser.add_argument(
        "--config", type=Path, help="the routing config (YAML), checked before starting"
    )
    parser.add_argument("--host", help="address the web app listens on")
    parser.add_argument("--port", type=int, help="port the web app listens on")
    parser.add_argument("--data-dir", type=Path, help="where the embedded store lives")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the store (default: SQLite)")
    parser.add_argument(
        "--grace",
        type=float,
        dest="shutdown_grace_s",
        help="seconds calls in progress get to finish after SIGTERM",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    parser.set_defaults(handler=run)


async def serve(app: web.Application) -> None:
    """Serve until SIGINT or SIGTERM, drain, then run every cleanup context in reverse."""
    settings = app[SETTINGS]
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log_class=PrivateAccessLogger,
        shutdown_timeout=HTTP_SHUTDOWN_S,
    )
    await runner.setup()
    signals = asyncio.Queue[int]()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, signals.put_nowait, signum)
    try:
        site = web.TCPSite(runner, settings.web_host, settings.web_port)
        await site.start()
        # The bound address, not the asked one: with --port 0 the OS picks the port.
        for host, port, *_ in runner.addresses:
            print(f"listening on http://{host}:{port}", flush=True)
        received = await signals.get()
        # Before anything else runs on the loop: a call arriving now must be refused.
        stop_taking_work(app)
        log.info(
            "stopping on %s: no new calls, %.0f s for calls in progress",
            signal.Signals(received).name,
            settings.shutdown_grace_s,
        )
        draining = asyncio.ensure_future(drain(app, settings.shutdown_grace_s))
        again = asyncio.ensure_future(signals.get())
        await asyncio.wait({draining, again}, return_when=asyncio.FIRST_COMPLETED)
        if not draining.done():
            log.warning("second signal: ending calls in progress now")
            draining.cancel()
        again.cancel()
        await asyncio.gather(draining, again, return_exceptions=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await runner.cleanup()
    log.info("stopped")


def run(args: argparse.Namespace) -> int:
    """Start the web app and serve until interrupted."""
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(
            os.environ,
            config_file=args.config,
            web_host=args.host,
            web_port=args.port,
            data_dir=args.data_dir,
            database_url=args.database_url,
            shutdown_grace_s=args.shutdown_grace_s,
        )
    except ValidationError as exc:
        print(f"serve: bad settings:\n{exc}", file=sys.stderr)
        return 2
    # Refuse to start on a config check-config would refuse, with the same messages.
    routing = read_config(str(settings.config_file))
    if isinstance(routing, int):
        return routing
    log.info(
        "routing config %s: %d queues, %d routes",
        settings.config_file,
        len(routing.queues),
        len(routing.routes),
    )
    try:
        app = create_app(settings)
    except ValueError as exc:  # a package refusing its part of the settings
        print(f"serve: bad settings: {exc}", file=sys.stderr)
        return 2
    eventloop.run(serve(app))  # uvloop when installed, GC tuned for calls
    return 0
