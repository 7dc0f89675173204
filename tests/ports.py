"""Free ports for tests, taken from below the kernel's ephemeral range.

A port found by binding port 0 is one the kernel hands out: between the probe and the test's
own bind, any `bind(("", 0))` (a relay leg, a client socket) may get the same one, and the
test fails with EADDRINUSE (seen in CI: a pyVoIP phone's RTP port taken by a relay leg). The
kernel never picks ports below its ephemeral range on its own, so ports handed out from there
are only ever taken by whoever asked for them.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_media_port", "free_port", "free_port_run"]

# Switchboard's default RTP ranges (the relay's and the PBX extension's) end at 29999.
FIRST = 30_000


def _ephemeral_first() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


LAST = _ephemeral_first() - 1
# A random start, so that two test runs on one machine seldom probe the same ports first.
_cursor = random.randrange(FIRST, LAST) & ~1
_handed_out: set[int] = set()


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_run(count: int) -> int:
    """Return the first (even) of `count` ports in a row, free for UDP and TCP on loopback.

    No port is handed out twice by one test process until the range has been gone through.
    """
    global _cursor
    stride = count + count % 2
    for _ in range((LAST - FIRST) // stride + 1):
        if _cursor + count - 1 > LAST:
            _cursor = FIRST
            _handed_out.clear()  # those were bound and released long ago
        ports = range(_cursor, _cursor + count)
        _cursor += stride
        if not _handed_out.intersection(ports) and all(_bindable(port) for port in ports):
            _handed_out.update(ports)
            return ports[0]
    raise RuntimeError(f"no {count} free ports in a row between {FIRST} and {LAST}")


def free_port() -> int:
    """Return a port free for both UDP and TCP on loopback (sipp -p, a phone's SIP or RTP)."""
    return free_port_run(1)


def free_media_port() -> int:
    """Return an even UDP port free with the three after it: sipp's -mp binds audio RTP/RTCP
    and video RTP/RTCP there (port, +1, +2, +3), and fails when any of them is taken."""
    return free_port_run(4)
