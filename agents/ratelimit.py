"""Sign-in attempt limits: a sliding window per key (username, client address)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """At most `attempts` within any `window_s` seconds."""

    attempts: int
    window_s: float


class SlidingWindowLimiter:
    """Count events per key over a sliding window, in this process's memory.

    Hand-written because it is a deque per key; a library would add a dependency for less.
    Several machines would need a shared store (Redis) for the same limits.
    """

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def _window(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        horizon = now - self.limit.window_s
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def retry_after(self, key: str) -> int:
        """Return in how many whole seconds `key` may try again; 0 means now."""
        now = self._clock()
        events = self._window(key, now)
        if len(events) < self.limit.attempts:
            return 0
        # The oldest event that keeps the key at its limit must leave the window first.
        oldest = events[len(events) - self.limit.attempts]
        return max(1, math.ceil(oldest + self.limit.window_s - now))

    def record(self, key: str) -> None:
        """Count one event for `key`."""
        now = self._clock()
        self._window(key, now)
        events = self._events.setdefault(key, deque())
        events.append(now)
        # Bounded: never keep more than the limit needs to decide.
        while len(events) > self.limit.attempts:
            events.popleft()

    def forget(self) -> int:
        """Drop keys whose events have all left the window; return how many remain."""
        now = self._clock()
        for key in list(self._events):
            self._window(key, now)
        return len(self._events)


@dataclass(frozen=True)
class SignInLimits:
    """Failed sign-ins allowed per username and per client address within a window.

    Only failures count: a whole floor of agents behind one NAT address signing in at the
    start of a shift must not lock each other out, while guessing still runs into the limit.
    """

    per_username: Limit = Limit(attempts=5, window_s=300.0)
    per_address: Limit = Limit(attempts=50, window_s=300.0)


class SignInThrottle:
    """Decide whether a sign-in attempt may go ahead, and count the failed ones."""

    def __init__(
        self, limits: SignInLimits = SignInLimits(), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._usernames = SlidingWindowLimiter(limits.per_username, clock)
        self._addresses = SlidingWindowLimiter(limits.per_address, clock)

    def retry_after(self, username: str, address: str) -> int:
        """Return how many seconds this username or address must wait; 0 means go ahead."""
        return max(
            self._usernames.retry_after(username.strip().lower()),
            self._addresses.retry_after(address),
        )

    def attempted(self, username: str, address: str, *, succeeded: bool) -> None:
        """Count an attempt against the username and the address when it failed."""
        if not succeeded:
            self._usernames.record(username.strip().lower())
            self._addresses.record(address)

    def forget(self) -> None:
        """Drop the keys with no recent attempts, so memory stays bounded."""
        self._usernames.forget()
        self._addresses.forget()
