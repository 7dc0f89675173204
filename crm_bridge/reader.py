"""Run a whole read (several queries) in one hop, whatever the database.

aiosqlite crosses to its thread for every cursor call, about three per query; the customer
360 is nine queries, so some thirty crossings, and on a busy two-core machine each crossing
can cost from 0.1 to 1 ms. For SQLite files this module instead runs the whole read in one
worker-thread call on a plain sqlite3 connection (WAL: readers never wait for the writer).
PostgreSQL (asyncpg) has no thread to cross: the read runs via `AsyncConnection.run_sync`.

A point read (the ANI lookup: one indexed query, about 0.1 ms) costs less than the hop itself,
whose two wake-ups (worker, then event loop) made its p99 five times the query's on a busy
machine. `run_point` runs such reads on the event loop's own thread, on a connection that never
waits for a lock: if SQLite reports one, the read goes to the worker threads as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")

# Enough for the lookups of a burst of calls; more threads would only fight over two cores.
READ_THREADS = 4
# Per reader connection; the kernel's page cache is shared, these only save system calls.
READ_MMAP_BYTES = 1 << 30
READ_CACHE_KIB = 32 * 1024


class Reader:
    """Run read functions `fn(connection, *args)` with as few thread crossings as possible."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._inline: Engine | None = None
        # The inline engine's one connection, kept between reads (see _run_inline).
        self._held: Connection | None = None
        self._pool: ThreadPoolExecutor | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            # A second pool on the same file, with the standard library driver.
            self._sync = create_engine(
                url.set(drivername="sqlite"),
                connect_args={"check_same_thread": False, "timeout": 5.0},
                pool_size=READ_THREADS,
            )
            event.listen(self._sync, "connect", _tune_reader)
            # One connection for the event loop's thread; timeout 0: a lock is never waited on.
            self._inline = create_engine(
                url.set(drivername="sqlite"),
                connect_args={"check_same_thread": False, "timeout": 0},
                pool_size=1,
            )
            event.listen(self._inline, "connect", _tune_reader)
            self._pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="crm-read")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Return `fn(connection, *args)` run on a connection of the store."""
        if self._sync is not None and self._pool is not None:
            sync = self._sync
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, _with_connection, sync, fn, args)
        async with self._engine.connect() as conn:
            return await conn.run_sync(fn, *args)

    async def run_point(self, fn: Callable[..., T], *args: Any) -> T:
        """Like `run`, for a read of a few indexed rows: on SQLite, without leaving the thread."""
        if self._inline is not None:
            try:
                return self._run_inline(self._inline, fn, args)
            except OperationalError:
                # Locked (a checkpoint or an exclusive writer): wait for it in a worker thread,
                # where a lasting error is raised again.
                pass
        return await self.run(fn, *args)

    def _run_inline(self, inline: Engine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """Return `fn(connection, *args)` on the connection kept for the event loop's thread."""
        # Kept, not checked out per read: a checkout and return cost ~20 us of CPU, as much as
        # the lookup's own query. Only the loop's thread comes here, so one connection serves.
        # Reads fetch all their rows: a statement left open would hold its WAL snapshot.
        conn = self._held
        if conn is None:
            conn = self._held = inline.connect()
        try:
            found = fn(conn, *args)
        except BaseException:
            # The next read starts on a fresh checkout, as if this one had closed it.
            self._held = None
            conn.close()
            raise
        if conn.in_transaction():
            # Connection.execute began one (the cursor path does not); end it as closing would.
            conn.rollback()
        return found

    def close(self) -> None:
        """Stop the read threads and close their connections."""
        if self._held is not None:
            self._held.close()
            self._held = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for engine in (self._sync, self._inline):
            if engine is not None:
                engine.dispose()


def _tune_reader(dbapi_connection: Any, _record: Any) -> None:
    """Read through a memory map and keep a larger page cache: lookups touch random pages."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
        cursor.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


def _with_connection(engine: Engine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with engine.connect() as conn:
        return fn(conn, *args)
