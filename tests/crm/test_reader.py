"""The reader: point reads on SQLite stay on the event loop's thread unless the file is locked."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection

from config.database import create_engine, upgrade
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.interface import NewCustomer
from crm_bridge.reader import Reader
from crm_bridge.sql_store import SqlDirectory


def _count_on_thread(conn: Connection) -> tuple[int, str]:
    """Return the number of customers and the thread that read it."""
    count = conn.execute(text("SELECT count(*) FROM crm_customers")).scalar_one()
    return count, threading.current_thread().name


async def _reader(path: Path) -> Reader:
    """A reader on a migrated, empty store file."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    await engine.dispose()
    return Reader(engine)


async def test_point_read_stays_on_the_loop_thread(tmp_path: Path) -> None:
    reader = await _reader(tmp_path / "crm.db")
    try:
        assert await reader.run_point(_count_on_thread) == (0, threading.current_thread().name)
        # A read through `run` (reports, key customers) still goes to a worker thread.
        count, thread = await reader.run(_count_on_thread)
        assert (count, thread.startswith("crm-read")) == (0, True)
    finally:
        reader.close()


async def test_point_read_on_a_locked_file_waits_in_a_worker_thread(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    reader = await _reader(path)
    # An exclusive writer locks even WAL readers out until it commits.
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE lock_probe (x)")
        read = asyncio.ensure_future(reader.run_point(_count_on_thread))
        # One turn of the loop: the inline attempt fails at once and hands over to a worker.
        await asyncio.sleep(0)
        assert not read.done()
        holder.execute("COMMIT")
        holder.close()
        assert (await read)[1].startswith("crm-read")
    finally:
        holder.close()
        reader.close()


async def test_the_lookup_and_the_360_run_on_the_loop_thread(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    store = SqlDirectory(engine, default_region="GB")
    threads: list[tuple[str, str]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        threads.append((statement.split()[0], threading.current_thread().name))

    try:
        cid = await store.create_customer(NewCustomer(name="Ada", numbers=("020 7946 0958",)))
        event.listen(Engine, "before_cursor_execute", seen)
        try:
            assert (await store.lookup("020 7946 0958")).customer_id == cid
            assert (await store.customer_360(cid)).customer.name == "Ada"
        finally:
            event.remove(Engine, "before_cursor_execute", seen)
        # The lookup's statement and the 360's two (Ada has no history), all on the loop's
        # thread: no hop, no worker thread taking the GIL between statements.
        assert threads == [("SELECT", threading.current_thread().name)] * 3
    finally:
        await store.close()
        await engine.dispose()


async def test_point_reads_share_one_connection_left_clean_and_a_failure_drops_it(
    tmp_path: Path,
) -> None:
    reader = await _reader(tmp_path / "crm.db")
    seen: list[tuple[Connection, bool]] = []

    def read(conn: Connection, fail: bool = False) -> None:
        """Note the connection and whether a transaction was left open; execute; maybe fail."""
        seen.append((conn, conn.in_transaction()))
        conn.execute(text("SELECT count(*) FROM crm_customers")).scalar_one()
        if fail:
            raise LookupError("the read failed half way")

    try:
        await reader.run_point(read)
        await reader.run_point(read)
        with pytest.raises(LookupError):
            await reader.run_point(read, True)
        await reader.run_point(read)
        (first, _), (second, _), (third, _), (fourth, _) = seen
        # One connection kept; SQLAlchemy's execute began a transaction, ended after each read.
        assert second is first and third is first
        assert not any(left_open for _, left_open in seen)
        # After a failure the next read starts on a fresh checkout.
        assert fourth is not first and first.closed
    finally:
        reader.close()
