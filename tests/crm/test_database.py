"""config.database: SQLite pragmas and per-package Alembic environments and version tables."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sqlalchemy import inspect, text

from config.database import create_engine, current_revision, downgrade, upgrade

ENV_PY = """
from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    version_table=context.config.attributes["version_table"],
)
with context.begin_transaction():
    context.run_migrations()
"""

REVISION_TEMPLATE = """
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("{table}")
"""


def make_env(root: Path, rev: str, table: str) -> Path:
    """Write a one-revision Alembic environment that creates `table`."""
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY)
    (root / "script.py.mako").write_text("")
    (root / "versions" / f"{rev}_create.py").write_text(
        textwrap.dedent(REVISION_TEMPLATE.format(rev=rev, table=table))
    )
    return root


async def table_names(engine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_sqlite_file_gets_directory_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "store.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            fks = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
    finally:
        await engine.dispose()
    assert path.parent.is_dir()
    assert mode == "wal"
    assert fks == 1
    assert busy > 0


async def test_two_packages_migrate_independently(tmp_path: Path) -> None:
    first = make_env(tmp_path / "first", "aaa111", "first_things")
    second = make_env(tmp_path / "second", "bbb222", "second_things")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert await current_revision(engine, "first_alembic_version") is None
        await upgrade(engine, first, "first_alembic_version")
        await upgrade(engine, second, "second_alembic_version")
        tables = await table_names(engine)
        assert {"first_things", "second_things"} <= tables
        assert {"first_alembic_version", "second_alembic_version"} <= tables
        assert "alembic_version" not in tables
        assert await current_revision(engine, "first_alembic_version") == "aaa111"
        assert await current_revision(engine, "second_alembic_version") == "bbb222"

        await downgrade(engine, first, "first_alembic_version", "base")
        tables = await table_names(engine)
        assert "first_things" not in tables
        assert "second_things" in tables
        assert await current_revision(engine, "first_alembic_version") is None
        assert await current_revision(engine, "second_alembic_version") == "bbb222"
    finally:
        await engine.dispose()


async def test_postgres_engine_runs_migrations(tmp_path: Path, pg_database_url: str) -> None:
    env = make_env(tmp_path / "pkg", "ccc333", "pkg_things")
    engine = create_engine(pg_database_url)
    try:
        await upgrade(engine, env, "pkg_alembic_version")
        assert "pkg_things" in await table_names(engine)
        assert await current_revision(engine, "pkg_alembic_version") == "ccc333"
        await downgrade(engine, env, "pkg_alembic_version", "base")
        assert "pkg_things" not in await table_names(engine)
    finally:
        await engine.dispose()


async def test_a_failing_statement_keeps_its_parameters_out_of_the_error(
    tmp_path: Path, postgres_url: str
) -> None:
    # Errors get logged; their parameters would carry token hashes, numbers and names.
    secret = "tokenhash-0123456789abcdef"
    for url in (f"sqlite+aiosqlite:///{tmp_path / 'hidden.db'}", postgres_url):
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                try:
                    await conn.execute(
                        text("SELECT * FROM no_such_table WHERE x = :x"), {"x": secret}
                    )
                except Exception as exc:  # the driver's own error type differs per database
                    message = str(exc)
                else:
                    raise AssertionError("the statement should have failed")
        finally:
            await engine.dispose()
        assert "no_such_table" in message
        assert secret not in message
        assert "hidden" in message.lower()
