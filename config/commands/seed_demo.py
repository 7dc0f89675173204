"""`switchboard seed-demo`: fill the customer store with deterministic demo customers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

from pydantic import ValidationError

from config.database import create_engine, upgrade
from config.settings import Settings, load_settings
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.errors import InvalidInput
from crm_bridge.seed import SeedReport, seed_demo


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `seed-demo` subcommand."""
    parser = subparsers.add_parser(
        "seed-demo",
        help="fill the customer store with demo data",
        description=(
            "Add N realistic, deterministic demo customers (companies, households, orders, "
            "interactions, cases) to the customer store, migrating it first. The same "
            "--customers, --seed and --as-of give the same data."
        ),
    )
    parser.add_argument("--customers", type=int, default=1000, help="how many (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        help="the day the history leads up to, YYYY-MM-DD (default: today, UTC)",
    )
    parser.add_argument("--region", help="region of the generated numbers (default: crm_region)")
    parser.add_argument("--data-dir", type=Path, help="where the embedded store lives")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the store (default: SQLite)")
    parser.set_defaults(handler=run)


async def seed(settings: Settings, args: argparse.Namespace) -> SeedReport:
    """Migrate the store, then seed it."""
    engine = create_engine(settings.effective_database_url())
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        day = args.as_of or datetime.now(UTC).date()

        def progress(done: int) -> None:
            if done % 50_000 == 0:
                print(f"  {done} customers", file=sys.stderr, flush=True)

        return await seed_demo(
            engine,
            args.customers,
            args.seed,
            datetime.combine(day, time(), tzinfo=UTC),
            region=args.region or settings.crm_region,
            progress=progress,
        )
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Seed the store and print what was written."""
    try:
        settings = load_settings(os.environ, data_dir=args.data_dir, database_url=args.database_url)
    except ValidationError as exc:
        print(f"switchboard seed-demo: bad settings: {exc}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(seed(settings, args))
    except InvalidInput as exc:
        print(f"switchboard seed-demo: {exc}", file=sys.stderr)
        return 2
    print(
        f"seeded {report.customers} customers, {report.companies} companies, "
        f"{report.numbers} numbers, {report.orders} orders, {report.interactions} "
        f"interactions, {report.cases} cases, {report.relationships} relationships"
    )
    return 0
