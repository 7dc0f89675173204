"""Routes by dialled number, opening hours per weekday in a time zone, and holidays."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.routes import RouteTable, closed_because, is_open
from config.schema import Calendar, RouteDestination
from tests.config.helpers import BASE, config_of, edit

LONDON = ZoneInfo("Europe/London")
UTC = datetime.UTC


def at(text: str, zone: datetime.tzinfo = LONDON) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=zone)


CALENDAR = Calendar.model_validate(
    {
        "timezone": "Europe/London",
        "weekly": {
            "mon": ["08:00-12:00", "13:00-20:00"],
            "sat": ["09:00-24:00"],
        },
        "holidays": [{"date": "2026-12-28", "name": "Bank holiday"}],
    }
)


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        (at("2026-11-23 07:59:59"), "outside hours (mon 07:59 Europe/London)"),
        (at("2026-11-23 08:00:00"), None),
        (at("2026-11-23 11:59:59"), None),
        (at("2026-11-23 12:00:00"), "outside hours (mon 12:00 Europe/London)"),
        (at("2026-11-23 13:00:00"), None),
        (at("2026-11-23 19:59:59.999"), None),
        (at("2026-11-23 20:00:00"), "outside hours (mon 20:00 Europe/London)"),
        (at("2026-11-24 10:00:00"), "outside hours (tue 10:00 Europe/London)"),
        (at("2026-11-28 23:59:59"), None),
        (at("2026-11-29 00:00:00"), "outside hours (sun 00:00 Europe/London)"),
        (at("2026-12-28 10:00:00"), "holiday: Bank holiday"),
        (at("2026-12-21 10:00:00"), None),
    ],
)
def test_open_by_weekday_ranges_and_holidays(moment: datetime.datetime, reason: str | None) -> None:
    assert closed_because(CALENDAR, moment) == reason
    assert is_open(CALENDAR, moment) is (reason is None)


def test_hours_are_local_to_the_calendar_zone_across_daylight_saving() -> None:
    # 07:30 UTC is 08:30 in London in summer (open) but 07:30 in winter (closed).
    assert is_open(CALENDAR, at("2026-06-01 07:30", UTC))
    assert not is_open(CALENDAR, at("2026-11-23 07:30", UTC))
    # The same instant seen from New York is still judged by London's clock.
    new_york = at("2026-06-01 07:30", UTC).astimezone(ZoneInfo("America/New_York"))
    assert is_open(CALENDAR, new_york)


def test_holiday_is_the_calendar_zone_date() -> None:
    # 23:30 UTC on 27 Dec is 10:30 on 28 Dec in Auckland: the holiday there, not in London.
    auckland = CALENDAR.model_copy(update={"timezone": "Pacific/Auckland"})
    moment = at("2026-12-27 23:30", UTC)
    assert closed_because(auckland, moment) == "holiday: Bank holiday"
    assert closed_because(CALENDAR, moment) != "holiday: Bank holiday"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(CALENDAR, datetime.datetime(2026, 11, 23, 10, 0))


@given(st.datetimes(timezones=st.just(UTC)))
def test_open_agrees_with_a_minute_by_minute_reading(moment: datetime.datetime) -> None:
    local = moment.astimezone(LONDON)
    minute = local.hour * 60 + local.minute
    day = local.strftime("%a").lower()[:3]
    spans = {"mon": [(480, 720), (780, 1200)], "sat": [(540, 1440)]}.get(day, [])
    expected = local.date() != datetime.date(2026, 12, 28) and any(
        a <= minute < b for a, b in spans
    )
    assert is_open(CALENDAR, moment) is expected


def test_route_table_resolves_open_closed_and_unknown_numbers() -> None:
    text = edit(
        "    out_of_hours: {voicemail: sales}",
        "    out_of_hours: {redirect: 'sip:night@desk.example'}\n"
        '  always:\n    dnis: "5000"\n    queue: support\n    mode: redirect',
    )
    table = RouteTable(config_of(text))
    monday_10 = at("2026-11-23 10:00")
    open_match = table.resolve("+441632960100", monday_10)
    assert open_match is not None
    assert (open_match.route_id, open_match.open, open_match.reason) == ("main", True, "open")
    assert open_match.destination == RouteDestination(queue="sales")
    closed = table.resolve("+441632960100", at("2026-12-25 10:00"))
    assert closed is not None
    assert not closed.open
    assert closed.destination == RouteDestination(redirect="sip:night@desk.example")
    assert closed.reason == "closed, holiday: Christmas Day"
    always = table.resolve("5000", at("2026-12-25 03:00"))
    assert always is not None
    assert (always.open, always.destination.queue, always.route.mode) == (
        True,
        "support",
        "redirect",
    )
    assert table.resolve("+441632960999", monday_10) is None
    found = table.route_for("5000")
    assert found is not None
    assert found[0] == "always"


def test_base_document_route_is_closed_on_a_tuesday() -> None:
    table = RouteTable(config_of(BASE))
    match = table.resolve("+441632960100", at("2026-11-24 10:00"))
    assert match is not None
    assert (match.open, match.destination.voicemail) == (False, "sales")
