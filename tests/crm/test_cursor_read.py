"""The lookup and the 360 on the DBAPI cursor return exactly what SQLAlchemy's execute returned.

The oracle is tests/crm/sqlalchemy_reads.py (the reads as they were through
`Connection.execute`); the store under test reads through crm_bridge.cursor_read. Both run
on real SQLite and PostgreSQL over seeded customers plus the edges the seed rarely makes
(more candidates and links than the limits, ties, microseconds, non-UTC input, no value row).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Integer, bindparam, delete, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from config.database import create_engine, upgrade
from crm_bridge import sql_read
from crm_bridge.app import MIGRATIONS_DIR, VERSION_TABLE
from crm_bridge.cursor_read import Query
from crm_bridge.interface import CallOutcome, CaseUpdate, FollowUp, LookupStatus, NewCustomer
from crm_bridge.phone import try_normalise
from crm_bridge.seed import seed_demo
from crm_bridge.sql_store import SqlDirectory
from crm_bridge.tables import UtcDateTime, customer_values, customers, follow_ups, phone_numbers
from tests.crm import sqlalchemy_reads
from tests.crm.conftest import NOW

T = TypeVar("T")

SHARED = "+441632960100"
# Ofcom's drama range: a number no seeded customer has.
NOBODY = "+441632960999"


@dataclass
class World:
    """What the tests look customers up by."""

    ids: list[int]
    numbers: list[str]
    accounts: list[str]


async def _build_world(store: SqlDirectory, engine: AsyncEngine) -> World:
    """Seed customers, then add the edges: limits overrun, ties, odd zones, missing rows."""
    await seed_demo(engine, 250, 11, NOW, region="GB")
    hub = await store.create_customer(
        NewCustomer(
            name="Zoë Ødegård 李", numbers=(SHARED, "020 7946 0000"), account_number="HUB-1"
        )
    )
    await store.create_company("Edge Holdings", account_number="CO-EDGE")
    others = []
    for n in range(25):
        others.append(
            await store.create_customer(
                NewCustomer(
                    name=f"Sharer {n:02d}", numbers=(SHARED,), emails=(f"s{n}@example.org",)
                )
            )
        )
    for n, other in enumerate(others):
        # Links both ways and of every kind: more than the 360 shows.
        kind = ("referred_by", "parent_account", "family")[n % 3]
        if n % 2:
            await store.add_relationship(hub, other, kind)
        else:
            await store.add_relationship(other, hub, kind)
        await store.add_company_role(other, "Edge Holdings", ("buyer", "user")[n % 2])
    await store.add_company_role(hub, "Edge Holdings", "decision_maker")
    await store.add_company_role(hub, "Edge Holdings", "buyer")
    india = timezone(timedelta(hours=5, minutes=30))
    case_id = None
    for n in range(14):
        # Pairs of calls at the same instant (the id breaks the tie), microseconds, +05:30.
        started = (NOW - timedelta(hours=n // 2, microseconds=n * 7919)).astimezone(india)
        case = CaseUpdate(case_id=case_id, subject="Parcel lost", kind="complaint")
        if n == 9:
            case = CaseUpdate(case_id=case_id, status="closed")
        interaction = await store.record_outcome(
            CallOutcome(
                customer_id=hub,
                started_at=started,
                agent="alice",
                queue=None if n % 3 else "support",
                disposition=None if n % 4 else "callback",
                notes=f"call {n}",
                talk_seconds=n,
                recording_ref=None if n % 2 else f"rec/{n}.wav",
                case=case if n in (0, 9, 11) else None,
                follow_up=FollowUp(due_at=NOW + timedelta(days=n % 3), note=f"n{n}")
                if n % 2
                else None,
            )
        )
        assert interaction
        if n == 0:
            view = await store.customer_360(hub)
            case_id = view.open_cases[0].case_id
    (first, *_) = await store.follow_ups_due("alice", NOW + timedelta(days=5))
    await store.complete_follow_up(first.reminder_id)
    async with engine.begin() as conn:
        # A customer never scored: tier and figures default.
        await conn.execute(
            delete(customer_values).where(customer_values.c.customer_id == int(others[3]))
        )
        ids = list((await conn.execute(select(customers.c.id).order_by(customers.c.id))).scalars())
        numbers = list((await conn.execute(select(phone_numbers.c.e164).distinct())).scalars())
        accounts = list(
            (
                await conn.execute(
                    select(customers.c.account_number).where(
                        customers.c.account_number.is_not(None)
                    )
                )
            ).scalars()
        )
        accounts += list(
            (await conn.execute(text("SELECT account_number FROM crm_companies"))).scalars()
        )
    return World(ids, numbers, accounts)


@pytest.fixture
async def world(store: SqlDirectory, engine: AsyncEngine) -> World:
    """The seeded store, built once per test."""
    return await _build_world(store, engine)


async def _oracle(engine: AsyncEngine, fn: Callable[..., T], *args: Any) -> T:
    async with engine.connect() as conn:
        return await conn.run_sync(fn, *args)


async def test_every_seeded_customer_reads_as_through_sqlalchemy(
    engine: AsyncEngine, make_store: Callable[..., SqlDirectory], world: World
) -> None:
    assert len(world.ids) > 270 and SHARED in world.numbers and "CO-EDGE" in world.accounts
    for limit in (10, 3, 0):
        store = make_store(interaction_limit=limit)
        for cid in world.ids:
            expected = await _oracle(engine, sqlalchemy_reads.customer_360, cid, limit)
            assert expected is not None
            assert await store.customer_360(str(cid)) == expected
            if limit == 10:
                # The same functions on the async engine's own driver (aiosqlite or asyncpg).
                assert await _oracle(engine, sql_read.customer_360, cid, limit) == expected
    # The edges really are in the data the comparison ran over.
    hub = await make_store().customer_360(str(world.ids[250]))
    assert len(hub.relationships) == sql_read.MAX_RELATIONSHIPS
    assert {r.kind for r in hub.relationships} >= {"referred", "parent_account", "family"}
    assert len(hub.recent_interactions) == 10 and len(hub.roles) == 2
    assert hub.recent_interactions[0].started_at.tzinfo is not None
    assert any(i.started_at.microsecond for i in hub.recent_interactions)


async def test_every_number_account_and_id_looks_up_as_through_sqlalchemy(
    engine: AsyncEngine, store: SqlDirectory, world: World
) -> None:
    keys: list[tuple[str | None, str | None, str | None]] = [(n, None, None) for n in world.numbers]
    keys += [(None, None, a) for a in world.accounts]
    keys += [(None, str(i), None) for i in world.ids]
    keys += [(NOBODY, None, None), (None, "999999", " nobody "), (NOBODY, "7", "AC000000008")]
    statuses = set()
    for number, cid, account in keys:
        expected = await _oracle(engine, sqlalchemy_reads.lookup, number, cid, account)
        assert await store.lookup(number, cid, account) == expected
        statuses.add((expected.status, len(expected.candidates)))
    assert (LookupStatus.CANDIDATES, sql_read.MAX_CANDIDATES) in statuses
    assert {s for s, _ in statuses} == set(LookupStatus)


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=16)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_lookup_answers_as_through_sqlalchemy(
    engine: AsyncEngine, store: SqlDirectory, world: World, data: st.DataObject
) -> None:
    ani = data.draw(st.none() | st.sampled_from(world.numbers) | _TEXT, label="ani")
    customer_id = data.draw(
        st.none()
        | st.sampled_from(world.ids).map(lambda i: f" {i}")
        | st.integers(-3, 10**13).map(str)
        | _TEXT,
        label="customer_id",
    )
    account = data.draw(
        st.none() | st.sampled_from(world.accounts).map(lambda a: f"{a} ") | _TEXT, label="account"
    )
    number = try_normalise(ani, "GB")
    expected = await _oracle(engine, sqlalchemy_reads.lookup, number, customer_id, account)
    assert await store.lookup(ani, customer_id, account) == expected


def _exclusive_lock(path: Path) -> sqlite3.Connection:
    """Hold SQLite's exclusive lock, which keeps even WAL readers out until it commits."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE lock_probe (x)")
    return holder


async def test_a_locked_file_raises_sqlalchemys_error_and_the_read_waits_in_a_thread(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crm.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    store = SqlDirectory(engine, default_region="GB")
    # Like the reader's inline connection: a lock is never waited on.
    impatient = sqlalchemy.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        cid = await store.create_customer(NewCustomer(name="Ada", numbers=(SHARED,)))
        # The exclusive lock needs every other connection to the file closed.
        await engine.dispose()
        holder = _exclusive_lock(path)
        try:
            # SQLAlchemy's OperationalError (what the reader catches), the number not in it.
            with impatient.connect() as conn, pytest.raises(OperationalError) as raised:
                sql_read.lookup(conn, SHARED, None, None)
            assert SHARED not in str(raised.value)
            read = asyncio.ensure_future(store.lookup(SHARED))
            # One turn of the loop: the inline attempt fails at once and hands over to a worker.
            await asyncio.sleep(0)
            assert not read.done()
            holder.execute("COMMIT")
        finally:
            holder.close()
        assert (await read).customer_id == cid
    finally:
        impatient.dispose()
        await store.close()
        await engine.dispose()


async def test_a_lost_postgresql_connection_is_invalidated(pg_database_url: str) -> None:
    engine = create_engine(pg_database_url)
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await conn.rollback()
            async with engine.connect() as killer:
                await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DBAPIError) as raised:
                await conn.run_sync(sql_read.lookup, NOBODY, None, None)
            assert raised.value.connection_invalidated
            assert conn.invalidated
            assert NOBODY not in str(raised.value)
        # The pool hands out a working connection next.
        again = await _oracle(engine, sql_read.lookup, NOBODY, None, None)
        assert again.status is LookupStatus.UNKNOWN
    finally:
        await engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+asyncpg://"])
def test_statements_the_cursor_path_cannot_run_as_compiled_are_refused(url: str) -> None:
    dialect = make_url(url).get_dialect()()
    # UtcDateTime converts what it binds; an IN list is expanded at execution.
    converted = select(follow_ups.c.id).where(
        follow_ups.c.due_at <= bindparam("until", type_=UtcDateTime)
    )
    expanded = select(follow_ups.c.id).where(follow_ups.c.id.in_(bindparam("ids", expanding=True)))
    for statement in (converted, expanded):
        with pytest.raises(ValueError):
            Query(statement).plan(dialect)
    plain = Query(select(follow_ups.c.id).where(follow_ups.c.id == bindparam("i", type_=Integer)))
    assert plain.plan(dialect) is plain.plan(dialect)


async def test_a_driver_with_named_parameters_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "named.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    await seed_demo(engine, 40, 5, NOW, region="GB")
    # Parameters by name (as psycopg takes them) instead of by position.
    named = sqlalchemy.create_engine(f"sqlite:///{path}", paramstyle="named")
    try:
        with named.connect() as conn:
            numbers = list(conn.execute(select(phone_numbers.c.e164)).scalars())
            for cid in range(1, 41):
                expected = await _oracle(engine, sqlalchemy_reads.customer_360, cid, 10)
                assert sql_read.customer_360(conn, cid, 10) == expected
            for number in numbers:
                found = await _oracle(engine, sqlalchemy_reads.lookup, number, None, None)
                assert sql_read.lookup(conn, number, None, None) == found
    finally:
        named.dispose()
        await engine.dispose()


async def test_cursor_listeners_of_the_engine_and_the_connection_see_each_statement(
    tmp_path: Path,
) -> None:
    path = tmp_path / "listened.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
    await engine.dispose()
    sync = sqlalchemy.create_engine(f"sqlite:///{path}")
    seen: list[tuple[str, str, Any]] = []

    def noting(when: str) -> Callable[..., None]:
        def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            seen.append((when, statement.split()[0], parameters))

        return note

    try:
        with sync.connect() as conn:
            sql_read.lookup(conn, NOBODY, None, None)
            assert seen == []
            event.listen(sync, "before_cursor_execute", noting("engine before"))
            event.listen(conn, "after_cursor_execute", noting("connection after"))
            sql_read.lookup(conn, NOBODY, None, None)
        assert seen == [
            ("engine before", "SELECT", (NOBODY, sql_read.MAX_CANDIDATES, 0)),
            ("connection after", "SELECT", (NOBODY, sql_read.MAX_CANDIDATES, 0)),
        ]
    finally:
        sync.dispose()
