"""Lookups by ANI in any format, by customer id and by account; shared and duplicate numbers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crm_bridge.errors import CustomerNotFound, InvalidInput
from crm_bridge.interface import LookupStatus, NewCustomer, ValueTier
from crm_bridge.sql_store import SqlDirectory


@pytest.mark.parametrize(
    "ani",
    [
        "020 7946 0958",
        "+44 20 7946 0958",
        "0044 20 7946 0958",
        "+442079460958",
        "sip:+442079460958@carrier.example;user=phone",
    ],
)
async def test_ani_in_any_format_finds_the_customer(store: SqlDirectory, ani: str) -> None:
    cid = await store.create_customer(NewCustomer(name="Ada Byron", numbers=("020 7946 0958",)))
    result = await store.lookup(ani)
    assert result.status is LookupStatus.MATCHED
    assert result.customer_id == cid
    assert result.matched_by == "ani"
    assert result.number == "+442079460958"


async def test_international_number_stored_and_found_from_national_us_format(
    make_store: Callable[..., SqlDirectory],
) -> None:
    us = make_store(default_region="US")
    cid = await us.create_customer(NewCustomer(name="Grace Hopper", numbers=("+1 415 555 2671",)))
    found = await us.lookup("(415) 555-2671")
    assert found.customer_id == cid


async def test_household_number_returns_candidates(store: SqlDirectory) -> None:
    a = await store.create_customer(NewCustomer(name="Jo Smith", numbers=("01632 960001",)))
    b = await store.create_customer(
        NewCustomer(name="Sam Smith", numbers=("01632 960001", "07700 900001"))
    )
    shared = await store.lookup("+44 1632 960001")
    assert shared.status is LookupStatus.CANDIDATES
    assert {c.customer_id for c in shared.candidates} == {a, b}
    assert shared.customer is None
    own = await store.lookup("07700 900001")
    assert own.status is LookupStatus.MATCHED
    assert own.customer_id == b


async def test_duplicate_number_on_one_customer_is_stored_once(store: SqlDirectory) -> None:
    cid = await store.create_customer(
        NewCustomer(name="Jo Bloggs", numbers=("020 7946 0000", "+44 20 7946 0000"))
    )
    found = await store.lookup("02079460000")
    assert found.status is LookupStatus.MATCHED
    assert found.customer_id == cid
    view = await store.customer_360(cid)
    assert view.numbers == ("+442079460000",)


async def test_candidates_carry_the_best_tier_for_routing(store: SqlDirectory) -> None:
    rich = await store.create_customer(
        NewCustomer(name="Rich Co Buyer", numbers=("0161 496 0000",))
    )
    await store.create_customer(NewCustomer(name="Temp", numbers=("0161 496 0000",)))
    await store.add_order(rich, revenue_cents=5_000_000, margin_cents=4_000_000)
    await store.add_order(rich, revenue_cents=5_000_000, margin_cents=4_000_000)
    result = await store.lookup("0161 496 0000")
    assert result.status is LookupStatus.CANDIDATES
    # The richest candidate comes first.
    assert result.candidates[0].customer_id == rich
    assert result.tier is ValueTier.PLATINUM


async def test_unknown_and_withheld_callers(store: SqlDirectory) -> None:
    await store.create_customer(NewCustomer(name="Someone", numbers=("020 7946 0958",)))
    unknown = await store.lookup("020 7946 0999")
    assert unknown.status is LookupStatus.UNKNOWN
    assert unknown.number == "+442079460999"
    assert unknown.tier is ValueTier.STANDARD
    assert unknown.degraded is None
    withheld = await store.lookup("anonymous")
    assert withheld.status is LookupStatus.UNKNOWN
    assert withheld.number is None
    assert (await store.lookup(None)).status is LookupStatus.UNKNOWN


async def test_unknown_caller_becomes_a_customer(store: SqlDirectory) -> None:
    unknown = await store.lookup("07700 900555")
    assert unknown.number is not None
    cid = await store.create_customer(NewCustomer(name="New Caller", numbers=(unknown.number,)))
    again = await store.lookup("07700 900555")
    assert again.customer_id == cid
    assert again.customer is not None
    assert again.customer.tier is ValueTier.STANDARD


async def test_customer_id_header_wins_and_bad_ids_fall_through(store: SqlDirectory) -> None:
    caller = await store.create_customer(NewCustomer(name="Caller", numbers=("020 7946 0101",)))
    other = await store.create_customer(NewCustomer(name="Other", numbers=("020 7946 0202",)))
    by_header = await store.lookup("020 7946 0101", customer_id=other)
    assert by_header.customer_id == other
    assert by_header.matched_by == "customer_id"
    # 2**31: past PostgreSQL's INTEGER, where binding it raised instead of finding nobody.
    for bad in ("999999", "not-a-number", "", "1; DROP TABLE crm_customers", "2147483648"):
        fallback = await store.lookup("020 7946 0101", customer_id=bad)
        assert fallback.customer_id == caller
        assert fallback.matched_by == "ani"
    with pytest.raises(CustomerNotFound):
        await store.customer_360("2147483648")


async def test_account_number_of_customer_and_of_company(store: SqlDirectory) -> None:
    cid = await store.create_customer(NewCustomer(name="Acct Holder", account_number="AC-1001"))
    assert (await store.lookup(None, account="AC-1001")).customer_id == cid
    assert (await store.lookup("", account=" AC-1001 ")).matched_by == "account"

    await store.create_company("Initech", account_number="CO-7")
    buyer = await store.create_customer(NewCustomer(name="Buyer"))
    user = await store.create_customer(NewCustomer(name="User"))
    await store.add_company_role(buyer, "Initech", "buyer")
    await store.add_company_role(user, "Initech", "user")
    company = await store.lookup(None, account="CO-7")
    assert company.status is LookupStatus.CANDIDATES
    assert {c.customer_id for c in company.candidates} == {buyer, user}


async def test_account_numbers_are_unique(store: SqlDirectory) -> None:
    await store.create_customer(NewCustomer(name="First", account_number="AC-1"))
    with pytest.raises(InvalidInput, match="account number"):
        await store.create_customer(NewCustomer(name="Second", account_number="AC-1"))


async def test_bad_new_customers_are_refused(store: SqlDirectory) -> None:
    with pytest.raises(InvalidInput, match="name"):
        await store.create_customer(NewCustomer(name="  "))
    with pytest.raises(InvalidInput, match="phone number"):
        await store.create_customer(NewCustomer(name="X", numbers=("call me maybe",)))
    with pytest.raises(InvalidInput, match="email"):
        await store.create_customer(NewCustomer(name="X", emails=("nobody",)))
    with pytest.raises(CustomerNotFound):
        await store.customer_360("424242")


async def test_the_whole_static_profile_reads_back(store: SqlDirectory) -> None:
    cid = await store.create_customer(
        NewCustomer(
            name="Marie Curie",
            numbers=("01632 960123", "+33 1 23 45 67 89"),
            emails=("marie@radium.example", "m.curie@lab.example"),
            account_number="RAD-88",
            company="Radium Institute",
            language="fr",
            owner_agent="ines.moreau",
            notes="Prefers French; call after 10:00.",
        )
    )
    found = await store.lookup("+33 1 23 45 67 89")
    assert found.customer is not None
    assert (found.customer.name, found.customer.account_number) == ("Marie Curie", "RAD-88")
    assert (found.customer.company, found.customer.language) == ("Radium Institute", "fr")
    assert found.customer.owner_agent == "ines.moreau"
    view = await store.customer_360(cid)
    assert view.customer == found.customer
    assert view.numbers == ("+441632960123", "+33123456789")
    assert view.emails == ("marie@radium.example", "m.curie@lab.example")
    assert view.notes == "Prefers French; call after 10:00."
