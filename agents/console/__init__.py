"""The agent console: one live page for the agent's working day, and its JSON API.

The composition root calls `setup(app, routing=..., directory=..., pops=..., reason_codes=...,
dispositions=..., call_control=...)` after `agents.setup`; see agents/README.md.
"""

from agents.console.control import EngineCallControl, EngineOffers, identify_in_engine
from agents.console.hub import Hub, Outbox
from agents.console.ports import (
    ConsoleOptions,
    ConsoleRouting,
    DispositionChoice,
    OfferControl,
    PopSource,
    RecordingLookup,
)
from agents.console.running import CONSOLE, Console
from agents.console.service import ConsoleError, ConsoleService
from agents.console.web import CONSOLE_PATH, setup

__all__ = [
    "CONSOLE",
    "CONSOLE_PATH",
    "Console",
    "ConsoleError",
    "ConsoleOptions",
    "ConsoleRouting",
    "ConsoleService",
    "DispositionChoice",
    "EngineCallControl",
    "EngineOffers",
    "Hub",
    "OfferControl",
    "Outbox",
    "PopSource",
    "RecordingLookup",
    "identify_in_engine",
    "setup",
]
