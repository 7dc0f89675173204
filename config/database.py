"""Database engines and per-package Alembic migrations, shared by every package that owns tables.

Engines: `create_engine(url)` builds one SQLAlchemy async engine. SQLite (aiosqlite) is the
embedded default; every new SQLite connection gets WAL mode (readers never block the writer),
foreign keys on (SQLite leaves them off unless asked) and a busy timeout (a second writer waits
instead of failing at once). The parent directory of a SQLite file is created. PostgreSQL
(asyncpg) is used as given.

Migrations: each package that owns tables keeps its OWN Alembic environment inside the package
(`crm_bridge/migrations/`, `agents/migrations/`, ...) with its OWN version table
(`crm_alembic_version`, `agents_alembic_version`, ...). Packages therefore stay independent:
one package's revisions never depend on another's, and they share a database without sharing a
history. There is no alembic.ini: `upgrade(engine, script_location, version_table)` builds the
Alembic config in code, opens one connection from the async engine and hands it to Alembic
through `config.attributes` (the "connection sharing with asyncio" recipe of the Alembic
cookbook). Each package's env.py is therefore a few lines:

    from alembic import context
    from mypackage.tables import metadata

    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=context.config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Long enough to ride out another writer's commit on a busy machine, short enough to surface a
# real deadlock as an error rather than a hang.
SQLITE_BUSY_TIMEOUT_MS = 5000


class MigrationError(RuntimeError):
    """A migration ran but left the database inconsistent (it was rolled back)."""


def create_engine(url: str) -> AsyncEngine:
    """Create an async engine for `url`, tuned for SQLite when it is SQLite.

    Statement parameters are hidden from errors and logs: they carry session-token hashes,
    phone numbers and customers' names, none of which may reach a log.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Pre-ping so a PostgreSQL restart costs one retry, not a failed request.
        return create_async_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed, hide_parameters=True)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Set the per-connection SQLite pragmas: WAL, foreign keys, busy timeout."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # NORMAL is durable across application crashes in WAL mode and much faster than FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _alembic_config(
    connection: Connection, script_location: str | Path, version_table: str
) -> Config:
    """Build an in-code Alembic config that carries the shared connection and version table."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["connection"] = connection
    config.attributes["version_table"] = version_table
    return config


async def upgrade(
    engine: AsyncEngine,
    script_location: str | Path,
    version_table: str,
    revision: str = "head",
) -> None:
    """Upgrade one package's tables to `revision` (default: the latest)."""

    def run(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection, script_location, version_table), revision)

    await _migrate(engine, run)


async def downgrade(
    engine: AsyncEngine,
    script_location: str | Path,
    version_table: str,
    revision: str,
) -> None:
    """Downgrade one package's tables to `revision` ("base" removes them all)."""

    def run(connection: Connection) -> None:
        command.downgrade(_alembic_config(connection, script_location, version_table), revision)

    await _migrate(engine, run)


async def _migrate(engine: AsyncEngine, run: Callable[[Connection], None]) -> None:
    """Run a migration in one transaction; on SQLite with foreign keys off while it runs.

    SQLite changes a column by copying the table and dropping the old one, and with foreign
    keys on, dropping a table fires the ON DELETE actions of every row that points at it
    (SET NULL, CASCADE): links would be lost. The SQLite manual's procedure for altering
    tables is to turn foreign keys off (outside the transaction), change, check, turn them on.
    """
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as connection:
        if sqlite:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(run)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise MigrationError(f"migration left {len(broken)} broken foreign keys")
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


async def current_revision(engine: AsyncEngine, version_table: str) -> str | None:
    """Return the revision one package's tables are at, or None before its first migration."""

    def read(connection: Connection) -> str | None:
        context = MigrationContext.configure(connection, opts={"version_table": version_table})
        return context.get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
