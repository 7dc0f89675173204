"""The console's part of the app: the fan-out hub from setup, the service once started."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from agents.console.hub import Hub, Outbox
from agents.console.ports import ConsoleOptions
from agents.console.service import ConsoleService


@dataclass
class Console:
    """What the console's routes use; `service` is set when the app starts."""

    hub: Hub
    options: ConsoleOptions
    service: ConsoleService | None = None
    # Each open console's socket, with the request that opened it, whose desk it shows and
    # its outbox.
    sockets: dict[web.WebSocketResponse, tuple[web.Request, str, Outbox]] = field(
        default_factory=dict
    )

    def started(self) -> ConsoleService:
        """Return the service (set once the app's startup has run)."""
        if self.service is None:
            raise RuntimeError("the console is not started (the app's startup has not run)")
        return self.service


CONSOLE = web.AppKey("agents.console", Console)
