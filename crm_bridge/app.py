"""Construction of crm_bridge for the composition root: the directory and its aiohttp wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_bridge.budget import BudgetedDirectory
from crm_bridge.config import CrmConfig
from crm_bridge.http_adapter import HttpCrmDirectory
from crm_bridge.interface import CustomerDirectory
from crm_bridge.sql_store import SqlDirectory

# For config.database.upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE), run before opening.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "crm_alembic_version"

CUSTOMER_DIRECTORY: web.AppKey[CustomerDirectory] = web.AppKey(
    "crm_bridge.directory", CustomerDirectory
)


def open_directory(engine: AsyncEngine, config: CrmConfig) -> BudgetedDirectory:
    """Return the configured directory (SQL store or external CRM) inside its time budget."""
    inner: CustomerDirectory
    if config.external is None:
        inner = SqlDirectory(
            engine,
            default_region=config.default_region,
            weights=config.weights,
            interaction_limit=config.interaction_limit,
        )
    else:
        inner = HttpCrmDirectory(config.external, default_region=config.default_region)
    return BudgetedDirectory(
        inner,
        lookup_budget_s=config.lookup_budget_s,
        view_budget_s=config.view_budget_s,
        default_region=config.default_region,
    )


def setup(app: web.Application, engine: AsyncEngine, config: CrmConfig) -> None:
    """Put the directory at app[CUSTOMER_DIRECTORY] for the app's lifetime (migrate first)."""

    async def directory_ctx(app: web.Application) -> AsyncIterator[None]:
        directory = open_directory(engine, config)
        app[CUSTOMER_DIRECTORY] = directory
        yield
        await directory.close()

    app.cleanup_ctx.append(directory_ctx)
