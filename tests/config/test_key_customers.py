"""`switchboard key-customers`: the 80/20 list of a real store, worked out by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.cli import main
from config.database import create_engine, upgrade
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.interface import NewCustomer
from crm_bridge.sql_store import SqlDirectory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def fill(url: str) -> dict[str, str]:
    """Margins: Big 40,000.00, Steady 6 x 1,000.00, Small 3,500.00, Loss -1,000.00, none."""
    engine = create_engine(url)
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        store = SqlDirectory(engine, default_region="GB", clock=lambda: NOW)
        ids = {}
        for name in ("Big", "Steady", "Small\x1b[31m", "Loss", "Browser"):
            ids[name] = await store.create_customer(NewCustomer(name=name))
        await store.add_order(ids["Big"], 5_000_000, 4_000_000, NOW)
        for _ in range(6):
            await store.add_order(ids["Steady"], 200_000, 100_000, NOW - timedelta(days=73))
        await store.add_order(ids["Small\x1b[31m"], 400_000, 350_000, NOW)
        await store.add_order(ids["Loss"], 100_000, -100_000, NOW)
        await store.close()
        return ids
    finally:
        await engine.dispose()


def test_lists_the_few_who_bring_the_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    ids = asyncio.run(fill(url))
    # Positive margin 49,500.00: Big alone is 80.8%; with Steady 92.9%; all three 100%.
    assert main(["key-customers", "--database-url", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 key customer brings 80.8% of all margin (asked for 80%)"
    assert out[1].split() == ["rank", "customer", "name", "margin", "cumulative"]
    assert out[2].split() == ["1", ids["Big"], "Big", "40,000.00", "80.8%"]
    assert len(out) == 3

    assert main(["key-customers", "--share", "1", "--database-url", url]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert rows == [
        ["1", ids["Big"], "Big", "40,000.00", "80.8%"],
        ["2", ids["Steady"], "Steady", "6,000.00", "92.9%"],
        # A stored name cannot send escape sequences to the terminal.
        ["3", ids["Small\x1b[31m"], "Small?[31m", "3,500.00", "100.0%"],
    ]


def test_an_empty_store_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key-customers", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "no customer has a positive margin yet\n"


@pytest.mark.parametrize("bad", ["0", "1.5", "most"])
def test_a_bad_share_is_a_usage_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["key-customers", "--share", bad])
    assert exited.value.code == 2
    assert "argument --share: expected" in capsys.readouterr().err
