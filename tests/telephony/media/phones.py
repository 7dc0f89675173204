"""A fake phone for media tests: a plain asyncio UDP endpoint that sends and collects RTP."""

from __future__ import annotations

import asyncio
from typing import cast

WAIT = 5.0


class Phone(asyncio.DatagramProtocol):
    """A UDP endpoint on loopback that queues every datagram it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> Phone:
        """Bind a phone to an ephemeral port."""
        loop = asyncio.get_running_loop()
        _, phone = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        return phone

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received.put_nowait((data, (str(addr[0]), int(addr[1]))))

    def send(self, data: bytes, port: int, host: str = "127.0.0.1") -> None:
        assert self.transport is not None
        self.transport.sendto(data, (host, port))

    async def next(self) -> tuple[bytes, tuple[str, int]]:
        """Wait for the next datagram, failing after a few seconds."""
        return await asyncio.wait_for(self.received.get(), WAIT)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
