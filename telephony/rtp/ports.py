"""A pool of even UDP ports for RTP, allocated from a configured range and given back on close."""

from __future__ import annotations

from collections import deque

__all__ = ["PortAllocator", "PortsExhaustedError"]


class PortsExhaustedError(RuntimeError):
    """No port of the configured range could be bound."""


class PortAllocator:
    """Hand out the even ports of [first, last] (RTP convention), least recently used first."""

    def __init__(self, first: int, last: int) -> None:
        if not 1024 <= first <= last <= 65535:
            raise ValueError("RTP port range must lie within 1024..65535, first <= last")
        start = first + (first % 2)
        self._free: deque[int] = deque(range(start, last + 1, 2))
        if not self._free:
            raise ValueError("RTP port range holds no even port")
        self._in_use: set[int] = set()
        self.size = len(self._free)

    @property
    def free(self) -> int:
        """Return how many ports are free to hand out."""
        return len(self._free)

    def acquire(self) -> int:
        """Take the least recently used free port, or raise PortsExhaustedError."""
        if not self._free:
            raise PortsExhaustedError("every RTP port of the range is in use")
        port = self._free.popleft()
        self._in_use.add(port)
        return port

    def release(self, port: int) -> None:
        """Give a port back; it goes to the end so stray packets of its last call die out."""
        if port in self._in_use:
            self._in_use.discard(port)
            self._free.append(port)
