"""An app with the web foundation and the admin, driving a real routing engine."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

import admin
from admin.api import ReadEvents
from config.cli import main
from config.compile import to_router
from config.database import upgrade
from config.loader import load_config
from config.schema import ContactCentreConfig
from router.engine import Engine
from tests.web.support import World, build_app

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


@dataclass
class LiveRouter:
    """The running router the admin hot-reloads: a real engine and its own clock."""

    engine: Engine
    now: float = 0.0
    applied: list[ContactCentreConfig] = field(default_factory=list)

    def apply(self, config: ContactCentreConfig) -> None:
        """Hot-reload the engine, as the composition root's apply does."""
        self.engine.apply_config(*to_router(config), self.now)
        self.applied.append(config)


@dataclass
class AdminWorld:
    """The web world plus the admin's service and the router it applies to."""

    web: World
    router: LiveRouter
    service: admin.ConfigService

    @property
    def app(self) -> web.Application:
        return self.web.app


def build_admin_app(
    db_path: Path,
    initial: ContactCentreConfig | None = None,
    read_events: ReadEvents | None = None,
) -> AdminWorld:
    """Build the foundation and the admin on a SQLite file, starting from the example config."""
    config = initial if initial is not None else load_config(EXAMPLE)
    router = LiveRouter(Engine(*to_router(config)))
    world = build_app(db_path)

    @contextlib.asynccontextmanager
    async def migrate(_: web.Application) -> AsyncIterator[None]:
        await upgrade(world.engine, admin.MIGRATIONS_DIR, admin.VERSION_TABLE)
        yield

    # After the foundation's own database context, before the admin loads its versions.
    world.app.cleanup_ctx.append(migrate)
    options = admin.AdminOptions(
        initial=config, source="example.yaml", apply=router.apply, read_events=read_events
    )
    service = admin.setup(world.app, world.engine, options, clock=world.clock)
    return AdminWorld(web=world, router=router, service=service)


# A field path as check-config prints it: a top-level key, then ids and fields (ids may hold
# any character when they are the error).
_PATH = re.compile(
    r"(version|skills|tiers|queues|calendars|routes|agents|reason_codes|dispositions)(\.[^:]+)?"
)


def check_config_fields(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Run `switchboard check-config` and read its errors back as {field path: message}."""
    capsys.readouterr()
    assert main(["check-config", str(path)]) == 1
    fields: dict[str, str] = {}
    for line in capsys.readouterr().err.splitlines():
        rest = line.removeprefix(f"{path}:")
        assert rest != line, line
        _, _, rest = rest.partition(": ")
        first, sep, message = rest.partition(": ")
        key, message = (first, message) if sep and _PATH.fullmatch(first) else ("document", rest)
        fields[key] = f"{fields[key]}; {message}" if key in fields else message
    return fields
