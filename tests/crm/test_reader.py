"""The reader: point reads on SQLite stay on the event loop's thread unless the file is locked."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from config.database import create_engine, upgrade
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.reader import Reader


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
        # A whole read (the 360) still goes to a worker thread.
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
