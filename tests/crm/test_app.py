"""Construction for the composition root, and the budget wrapper around any directory."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from config.database import create_engine, upgrade
from crm_bridge.app import CUSTOMER_DIRECTORY, MIGRATIONS_DIR, VERSION_TABLE, open_directory, setup
from crm_bridge.budget import BudgetedDirectory
from crm_bridge.config import CrmConfig, HttpCrmConfig
from crm_bridge.errors import InvalidInput
from crm_bridge.interface import LookupStatus, NewCustomer
from crm_bridge.sql_store import SqlDirectory


async def test_open_directory_uses_the_sql_store(engine: AsyncEngine) -> None:
    directory = open_directory(engine, CrmConfig(default_region="GB"))
    cid = await directory.create_customer(NewCustomer(name="Ada", numbers=("020 7946 0958",)))
    found = await directory.lookup("+44 20 7946 0958")
    assert found.customer_id == cid
    assert (await directory.customer_360(cid)).customer.name == "Ada"
    assert isinstance(directory.inner, SqlDirectory)
    await directory.close()


async def test_setup_puts_the_directory_in_the_app(engine: AsyncEngine) -> None:
    app = web.Application()
    setup(app, engine, CrmConfig(default_region="GB"))

    async def who(request: web.Request) -> web.Response:
        result = await request.app[CUSTOMER_DIRECTORY].lookup(request.query["ani"])
        return web.json_response({"status": result.status.value})

    app.router.add_get("/who", who)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/who", params={"ani": "020 7946 0958"})
        assert (await response.json()) == {"status": "unknown"}


class Broken:
    """A directory that fails the ways a buggy adapter might."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    async def lookup(self, ani: str | None, customer_id: Any = None, account: Any = None) -> Any:
        if self.behaviour == "raise":
            raise RuntimeError(f"cannot parse caller {ani}")
        return {"not": "a LookupResult"}

    async def customer_360(self, customer_id: str) -> Any:
        raise AssertionError("not used by these tests")

    async def record_outcome(self, outcome: Any) -> str:
        raise AssertionError("not used by these tests")

    async def create_customer(self, new: Any) -> str:
        raise AssertionError("not used by these tests")

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("behaviour", ["raise", "garbage"])
async def test_budget_turns_any_failure_into_unknown_without_leaking_data(
    behaviour: str, caplog: pytest.LogCaptureFixture
) -> None:
    budgeted = BudgetedDirectory(
        Broken(behaviour), lookup_budget_s=0.15, view_budget_s=0.3, default_region="GB"
    )
    with caplog.at_level(logging.WARNING):
        result = await budgeted.lookup("020 7946 0958")
    assert (result.status, result.degraded) == (LookupStatus.UNKNOWN, "error")
    assert result.number == "+442079460958"
    assert "7946" not in caplog.text
    assert caplog.records


@pytest.mark.parametrize(
    "changes",
    [
        {"default_region": "XX"},
        {"lookup_budget_s": 0},
        {"interaction_limit": 0},
    ],
)
def test_bad_config_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        CrmConfig(**changes)


def test_bad_external_config_is_refused() -> None:
    with pytest.raises(InvalidInput, match="base_url"):
        HttpCrmConfig(base_url="ftp://crm.example")
    with pytest.raises(InvalidInput, match="contact"):
        HttpCrmConfig(base_url="https://crm.example", contact="/c/{customer_id}/{secret}")
    with pytest.raises(InvalidInput, match="search_by_number"):
        HttpCrmConfig(base_url="https://crm.example", search_by_number="/s?q={number")
    with pytest.raises(InvalidInput, match="tier_values"):
        HttpCrmConfig(base_url="https://crm.example", tier_values={"VIP": "diamond"})


async def test_in_memory_sqlite_reads_through_the_async_engine() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        directory = open_directory(engine, CrmConfig(default_region="GB"))
        cid = await directory.create_customer(
            NewCustomer(name="Ephemeral", numbers=("07700900123",))
        )
        assert (await directory.lookup("+447700900123")).customer_id == cid
        await directory.close()
    finally:
        await engine.dispose()
