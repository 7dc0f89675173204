"""Customers for the console tests, written through the real SQLite store."""

from __future__ import annotations

from crm_bridge.budget import BudgetedDirectory
from crm_bridge.interface import CustomerDirectory, NewCustomer
from crm_bridge.sql_store import SqlDirectory

VIP_NUMBER = "+44 20 7946 0001"
UNKNOWN_NUMBER = "+44 20 7946 0999"


def store_of(directory: CustomerDirectory) -> SqlDirectory:
    """Return the SQL store inside the app's budgeted directory."""
    assert isinstance(directory, BudgetedDirectory)
    inner = directory.inner
    assert isinstance(inner, SqlDirectory)
    return inner


async def add_vip(directory: CustomerDirectory, name: str = "Grace Hopper") -> str:
    """Create a platinum customer with an open case and a referrer; return the id."""
    store = store_of(directory)
    referrer = await store.create_customer(NewCustomer(name="Alan Turing"))
    customer_id = await store.create_customer(
        NewCustomer(
            name=name,
            numbers=(VIP_NUMBER,),
            account_number="ACC-1001",
            company="Navy Labs",
            notes="Prefers email follow-ups.",
        )
    )
    for _ in range(2):
        await store.add_order(customer_id, revenue_cents=5_000_000, margin_cents=4_000_000)
    await store.add_relationship(customer_id, referrer, "referred_by")
    return customer_id
