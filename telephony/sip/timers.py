"""RFC 3261 transaction timer values (§17, Table 4), injectable so tests can run them fast."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """T1, T2, T4 and timer D; the lettered timers derive from them as RFC 3261 defines."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0

    @property
    def b(self) -> float:
        """Return timer B (INVITE client transaction timeout)."""
        return 64 * self.t1

    @property
    def f(self) -> float:
        """Return timer F (non-INVITE client transaction timeout)."""
        return 64 * self.t1

    @property
    def h(self) -> float:
        """Return timer H (wait for ACK)."""
        return 64 * self.t1

    def j(self, reliable: bool) -> float:
        """Return timer J (non-INVITE server: absorb retransmissions)."""
        return 0.0 if reliable else 64 * self.t1

    def i(self, reliable: bool) -> float:
        """Return timer I (INVITE server: absorb ACK retransmissions)."""
        return 0.0 if reliable else self.t4

    def k(self, reliable: bool) -> float:
        """Return timer K (non-INVITE client: absorb response retransmissions)."""
        return 0.0 if reliable else self.t4

    def d_for(self, reliable: bool) -> float:
        """Return timer D (INVITE client: absorb final response retransmissions)."""
        return 0.0 if reliable else self.d
