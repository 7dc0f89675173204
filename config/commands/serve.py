"""`switchboard serve`: run the service (the web app; SIP joins it later)."""

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
from config.settings import load_settings

log = logging.getLogger("switchboard")


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
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    parser.set_defaults(handler=run)


async def serve(app: web.Application) -> None:
    """Serve until SIGINT or SIGTERM, then run every cleanup context in reverse."""
    settings = app[SETTINGS]
    runner = web.AppRunner(app, handle_signals=False, access_log_class=PrivateAccessLogger)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.web_host, settings.web_port)
        await site.start()
        # The bound address, not the asked one: with --port 0 the OS picks the port.
        for host, port, *_ in runner.addresses:
            print(f"listening on http://{host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()


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
    asyncio.run(serve(app))
    return 0
