"""`switchboard key-customers`: print the 80/20 list, the few who bring most of the margin."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from config.database import create_engine, upgrade
from config.settings import Settings, load_settings
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.sql_store import SqlDirectory
from crm_bridge.value import KeyCustomer


def share(text: str) -> float:
    """Parse --share: a fraction above 0 and at most 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction above 0 and at most 1, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `key-customers` subcommand."""
    parser = subparsers.add_parser(
        "key-customers",
        help="list the key customers (the few who bring most of the margin)",
        description=(
            "Print the fewest customers who together bring --share of all positive lifetime "
            "margin, largest first, with each one's margin and the running share."
        ),
    )
    parser.add_argument(
        "--share", type=share, default=0.8, help="share of the margin (default 0.8)"
    )
    parser.add_argument("--data-dir", type=Path, help="where the embedded store lives")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the store (default: SQLite)")
    parser.set_defaults(handler=run)


async def read(settings: Settings, fraction: float) -> list[KeyCustomer]:
    """Migrate the store if needed, then read the list."""
    engine = create_engine(settings.effective_database_url())
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        directory = SqlDirectory(engine, default_region=settings.crm_region)
        try:
            return await directory.key_customers(fraction)
        finally:
            await directory.close()
    finally:
        await engine.dispose()


def printable(name: str) -> str:
    """Keep a stored name from moving the terminal's cursor or colours."""
    return "".join(c if c.isprintable() else "?" for c in name)


def render(listed: list[KeyCustomer], fraction: float) -> str:
    """Lay the list out as a table under a one-line summary."""
    if not listed:
        return "no customer has a positive margin yet"
    width = max(8, *(len(k.customer_id) for k in listed))
    names = max(4, *(len(printable(k.name)) for k in listed))
    who = "1 key customer brings" if len(listed) == 1 else f"{len(listed)} key customers bring"
    lines = [
        f"{who} {listed[-1].cumulative_share:.1%} of all margin (asked for {fraction:.0%})",
        f"{'rank':>4}  {'customer':<{width}}  {'name':<{names}}  {'margin':>14}  cumulative",
    ]
    for rank, k in enumerate(listed, start=1):
        margin = f"{k.margin_cents / 100:,.2f}"
        lines.append(
            f"{rank:>4}  {k.customer_id:<{width}}  {printable(k.name):<{names}}  "
            f"{margin:>14}  {k.cumulative_share:>10.1%}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the key customers of the configured store."""
    try:
        settings = load_settings(os.environ, data_dir=args.data_dir, database_url=args.database_url)
    except ValidationError as exc:
        print(f"switchboard key-customers: bad settings: {exc}", file=sys.stderr)
        return 2
    print(render(asyncio.run(read(settings, args.share)), args.share))
    return 0
