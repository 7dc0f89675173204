"""Where a dialled number goes at a given moment: its route, opening hours and holidays."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from zoneinfo import ZoneInfo

from config.schema import WEEKDAYS, Calendar, ContactCentreConfig, Route, RouteDestination


def closed_because(calendar: Calendar, at: datetime.datetime) -> str | None:
    """Return why the calendar is closed at `at` (a holiday, outside hours), or None if open."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("opening hours need a timezone-aware datetime")
    local = at.astimezone(ZoneInfo(calendar.timezone))
    for holiday in calendar.holidays:
        if holiday.date == local.date():
            return f"holiday: {holiday.name}"
    weekday = WEEKDAYS[local.weekday()]
    second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    if any(span.contains(second) for span in calendar.weekly.get(weekday, ())):
        return None
    return f"outside hours ({weekday} {local:%H:%M} {calendar.timezone})"


def is_open(calendar: Calendar, at: datetime.datetime) -> bool:
    """Return whether the calendar is open at the (timezone-aware) moment `at`."""
    return closed_because(calendar, at) is None


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """Where a call to a route goes now: its queue when open, else the out-of-hours destination."""

    route_id: str
    route: Route
    open: bool
    destination: RouteDestination
    reason: str


class RouteTable:
    """Look routes up by dialled number (exact match on the number as configured)."""

    def __init__(self, config: ContactCentreConfig) -> None:
        self._calendars = config.calendars
        self._by_dnis: Mapping[str, tuple[str, Route]] = MappingProxyType(
            {route.dnis: (route_id, route) for route_id, route in config.routes.items()}
        )

    def route_for(self, dnis: str) -> tuple[str, Route] | None:
        """Return the route id and route for a dialled number, or None if none is configured."""
        return self._by_dnis.get(dnis)

    def resolve(self, dnis: str, at: datetime.datetime) -> RouteMatch | None:
        """Return where a call to `dnis` at `at` goes, or None if the number has no route."""
        found = self._by_dnis.get(dnis)
        if found is None:
            return None
        route_id, route = found
        closed = None
        if route.hours is not None:
            closed = closed_because(self._calendars[route.hours], at)
        if closed is None or route.out_of_hours is None:
            return RouteMatch(route_id, route, True, RouteDestination(queue=route.queue), "open")
        return RouteMatch(route_id, route, False, route.out_of_hours, f"closed, {closed}")
