"""The lookups and the 360 read through indexes, never a scan of a whole table.

The benchmark measures this at a million customers; here the database's own query plan for
every statement a lookup or a 360 really sends is checked on SQLite and PostgreSQL, so a
lost index or a query that cannot use one fails in seconds on a nearly empty store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_bridge.interface import CallOutcome, CaseUpdate, FollowUp, NewCustomer
from crm_bridge.sql_store import SqlDirectory
from tests.crm.conftest import NOW

Statement = tuple[str, Any]
# SQLite: "SCAN crm_x" (even "USING COVERING INDEX") reads every row. PostgreSQL with
# sequential scans priced out still picks one when no index fits the query.
FULL_SCAN = {
    "sqlite": re.compile(r"\bSCAN crm_\w+"),
    "postgresql": re.compile(r"Seq Scan on crm_\w+"),
}


@contextmanager
def statements_sent() -> Iterator[list[Statement]]:
    """Collect every SQL statement any engine sends (SQLite reads use their own pool)."""
    seen: list[Statement] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", grab)


async def plans(engine: AsyncEngine, sent: list[Statement]) -> list[tuple[str, str]]:
    """Return (statement, its query plan as text) for each statement."""
    dialect = engine.dialect.name
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    found = []
    async with engine.connect() as conn:
        if dialect == "postgresql":
            # Tiny tables make a sequential scan the cheapest plan; price it out so the
            # planner shows whether an index could serve the query at scale.
            await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in sent:
            rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
            found.append((statement, "\n".join(str(row[-1]) for row in rows)))
    return found


async def test_lookups_and_the_360_use_indexes(engine: AsyncEngine, store: SqlDirectory) -> None:
    cid = await store.create_customer(
        NewCustomer(
            name="Ada Byron",
            numbers=("020 7946 0958",),
            emails=("ada@example.org",),
            account_number="AC-1",
        )
    )
    await store.create_company("Initech", account_number="CO-7")
    await store.add_company_role(cid, "Initech", "buyer")
    # Something in every list of the 360, which skips the statements of empty ones.
    other = await store.create_customer(NewCustomer(name="Byron"))
    await store.add_relationship(cid, other, "family")
    await store.record_outcome(
        CallOutcome(
            customer_id=cid,
            started_at=NOW,
            agent="alice",
            case=CaseUpdate(subject="Lost parcel"),
            follow_up=FollowUp(due_at=NOW),
        )
    )
    with statements_sent() as sent:
        await store.lookup("+44 20 7946 0958")
        await store.lookup(None, customer_id=cid)
        await store.lookup(None, account="AC-1")
        await store.lookup(None, account="CO-7")
        first_of_360 = len(sent)
        view = await store.customer_360(cid)
    assert view.open_cases and view.recent_interactions and view.relationships
    assert view.roles and view.follow_ups and view.numbers
    assert len(sent) - first_of_360 == 7, "the 360 sent all seven of its statements"
    assert len(sent) >= 12, "every statement was seen"
    scan = FULL_SCAN[engine.dialect.name]
    explained = await plans(engine, sent)
    for statement, plan in explained:
        assert not scan.search(plan), f"{statement}\n{plan}"
    by_number = [plan for statement, plan in explained if "crm_phone_numbers.e164 =" in statement]
    assert by_number, "the ANI lookup was sent"
    assert all("ix_crm_phone_numbers_e164" in plan for plan in by_number)
