"""Demo data: deterministic, realistic enough to look up, skewed in value; the CLI command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from config.cli import main
from config.database import create_engine, upgrade
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.interface import LookupStatus, NewCustomer
from crm_bridge.seed import seed_demo
from crm_bridge.sql_store import SqlDirectory
from crm_bridge.tables import metadata, phone_numbers
from tests.crm.conftest import NOW


async def snapshot(engine: AsyncEngine) -> list[list[tuple[object, ...]]]:
    async with engine.connect() as conn:
        return [
            [tuple(r) for r in await conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in metadata.sorted_tables
        ]


async def seeded_copy(path: Path, seed: int) -> list[list[tuple[object, ...]]]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        await seed_demo(engine, 200, seed, NOW, region="GB")
        return await snapshot(engine)
    finally:
        await engine.dispose()


async def test_same_seed_same_data(tmp_path: Path) -> None:
    first = await seeded_copy(tmp_path / "a.db", 11)
    again = await seeded_copy(tmp_path / "b.db", 11)
    other = await seeded_copy(tmp_path / "c.db", 12)
    assert first == again
    assert first != other
    assert all(first), "every table got rows"


async def test_seeded_store_is_usable_and_skewed(
    engine: AsyncEngine, make_store: Callable[..., SqlDirectory]
) -> None:
    report = await seed_demo(engine, 1_200, 5, NOW, region="GB")
    assert report.customers == 1_200
    assert report.orders > 0 and report.interactions > 0 and report.cases > 0
    assert report.companies > 0 and report.relationships > 0
    store = make_store()

    async with engine.connect() as conn:
        # Households and company switchboards share numbers.
        shared = (
            await conn.execute(
                select(phone_numbers.c.e164).group_by(phone_numbers.c.e164).having(func.count() > 1)
            )
        ).scalars()
        first_mobile = await conn.scalar(
            select(phone_numbers.c.e164)
            .where(phone_numbers.c.customer_id == 1)
            .order_by(phone_numbers.c.id)
            .limit(1)
        )
    assert list(shared)
    assert first_mobile is not None
    national = phonenumbers.format_number(
        phonenumbers.parse(first_mobile), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    found = await store.lookup(national)
    assert found.status is LookupStatus.MATCHED
    assert found.customer_id == "1"
    view = await store.customer_360("1")
    assert view.numbers[0] == first_mobile

    # Most of the margin comes from few customers.
    key = await store.key_customers(0.8)
    everyone = await store.key_customers(1.0)
    assert 0 < len(key) < 0.35 * len(everyone)

    # Ids continue after the seeded ones (PostgreSQL sequences were moved on).
    new_id = await store.create_customer(NewCustomer(name="After Seed"))
    assert int(new_id) == 1_201


def test_cli_seeds_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli' / 'store.db'}"
    args = ["seed-demo", "--customers", "40", "--seed", "3", "--as-of", "2026-06-01"]
    assert main([*args, "--region", "GB", "--database-url", url]) == 0
    assert "seeded 40 customers" in capsys.readouterr().out
    assert main(["seed-demo", "--customers", "-1", "--database-url", url]) == 2
    assert "customers" in capsys.readouterr().err
