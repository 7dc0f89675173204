"""The admin JSON API: view and change the routing config, try a change, versions, YAML."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from admin.arrivals import LoggedEvent, calls_from_log
from admin.editing import SECTIONS, issue_fields, plain_data
from admin.service import (
    ApplyRefused,
    ConfigRefused,
    ConfigService,
    StaleVersion,
    UnknownVersion,
)
from admin.trial import Comparison, TrialCall, TrialTraffic, compare
from admin.trial import QueueFigures as TrialFigures
from admin.versions import ConfigVersion
from agents import Api, ApiError, Role, current_session
from config.advice import staffing_advice
from config.loader import dump_config

SERVICE = web.AppKey("admin.service", ConfigService)

# Read the event log between two wall-clock times (seconds), oldest first.
ReadEvents = Callable[[float, float], Awaitable[Sequence[LoggedEvent]]]
DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class TrialSources:
    """Where a trial's real callers come from: the event log (if connected) and the time."""

    read_events: ReadEvents | None
    now: Callable[[], float]


TRIAL_SOURCES = web.AppKey("admin.trial_sources", TrialSources)

api = Api(tag="admin")

Section = Literal[
    "queues", "routes", "calendars", "skills", "agents", "reason_codes", "dispositions"
]
_SECTION_PATTERN = "|".join(SECTIONS)
ITEM_PATH = f"/api/admin/config/{{section:{_SECTION_PATTERN}}}/{{item_id}}"


class VersionInfo(BaseModel):
    """A saved config version: who saved it, when, and what it changed."""

    id: int
    created_at: datetime
    author: str
    summary: str
    restored_from: int | None = None

    @classmethod
    def of(cls, version: ConfigVersion) -> VersionInfo:
        """Describe a stored version."""
        return cls(
            id=version.id,
            created_at=version.created_at,
            author=version.author,
            summary=version.summary,
            restored_from=version.restored_from,
        )


class VersionDetail(VersionInfo):
    """A version with its diff against the version before it and its whole YAML."""

    diff: str
    document: str


class VersionList(BaseModel):
    """The live version and the newest versions, newest first."""

    live: int
    versions: list[VersionInfo]


class ConfigView(BaseModel):
    """The live config as plain data, and its version."""

    version: VersionInfo
    config: dict[str, Any]


class ItemView(BaseModel):
    """One item of the live config (a queue, route, agent...)."""

    section: Section
    item_id: str
    version: int
    value: dict[str, Any]


class ItemChange(BaseModel):
    """The new value of one item, and the version it was edited from."""

    value: dict[str, Any]
    base_version: int | None = Field(
        default=None, description="Refuse the change (409) if the live version is another."
    )


class BaseVersionQuery(BaseModel):
    """The version a removal was decided on."""

    base_version: int | None = None


class ImportRequest(BaseModel):
    """A whole config as YAML, as `export` writes it."""

    yaml: str = Field(max_length=2_000_000)
    base_version: int | None = None


class TrialRequest(BaseModel):
    """A change to try: one item's new value (null: removed) and the traffic to try it on."""

    section: Section
    item_id: str
    value: dict[str, Any] | None
    minutes: float = Field(default=60.0, gt=0, le=480)
    calls_per_minute: float = Field(default=2.0, ge=0, le=60)
    seed: int = 1
    source: Literal["synthetic", "last_day"] = Field(
        default="synthetic",
        description="synthetic: Poisson callers drawn from the seed; last_day: the callers of "
        "the last 24 hours as the event log recorded them.",
    )


class QueueFigures(BaseModel):
    """One queue's simulated figures."""

    offered: int
    answered: int
    abandoned: int
    overflowed: int
    service_level: float | None
    sl_threshold_s: float
    asa_s: float | None
    abandon_rate: float | None

    @classmethod
    def of(cls, figures: TrialFigures | None) -> QueueFigures | None:
        """Copy one run's figures (None for a queue that config lacks)."""
        return None if figures is None else cls.model_validate(figures, from_attributes=True)


class QueueRow(BaseModel):
    """A queue under the live config and under the proposed one, side by side."""

    queue_id: str
    current: QueueFigures | None
    proposed: QueueFigures | None


class TrialResult(BaseModel):
    """The simulation of the live and proposed configs on the same traffic."""

    source: str
    minutes: float
    calls_per_minute: float
    seed: int
    calls: int
    queues: list[QueueRow]
    warnings: dict[str, str] = Field(
        default_factory=dict,
        description="Staffing warnings check-config prints for the proposed config, by field.",
    )


def _service(request: web.Request) -> ConfigService:
    return request.app[SERVICE]


async def _author(request: web.Request) -> str:
    session = await current_session(request)
    assert session is not None  # the route requires the admin role
    return session.user.username


def _refused(exc: ConfigRefused, *, with_lines: bool = False) -> ApiError:
    count = len(exc.issues)
    return ApiError(
        422,
        f"refused: {count} problem{'s' if count != 1 else ''} (the rules of check-config)",
        issue_fields(exc.issues, with_lines=with_lines),
    )


async def _save(work: Awaitable[ConfigVersion], *, with_lines: bool = False) -> VersionInfo:
    try:
        version = await work
    except ConfigRefused as exc:
        raise _refused(exc, with_lines=with_lines) from exc
    except StaleVersion as exc:
        raise ApiError(409, str(exc)) from exc
    except ApplyRefused as exc:
        raise ApiError(409, f"the router refused the config; nothing changed: {exc}") from exc
    return VersionInfo.of(version)


@api.route("GET", "/api/admin/config", role=Role.ADMIN, response=ConfigView)
async def get_admin_config(request: web.Request) -> ConfigView:
    """Return the live routing config and its version."""
    service = _service(request)
    return ConfigView(version=VersionInfo.of(service.version), config=plain_data(service.config))


@api.route("GET", ITEM_PATH, role=Role.ADMIN, response=ItemView)
async def get_admin_item(request: web.Request) -> ItemView:
    """Return one item of the live config."""
    service = _service(request)
    section, item_id = request.match_info["section"], request.match_info["item_id"]
    items = plain_data(service.config).get(section) or {}
    if item_id not in items:
        raise ApiError(404, f"there is no {section} item {item_id!r}")
    return ItemView(
        section=section,
        item_id=item_id,
        version=service.version.id,
        value=items[item_id],
    )


@api.route("PUT", ITEM_PATH, role=Role.ADMIN, body=ItemChange, response=VersionInfo)
async def put_admin_item(request: web.Request, change: ItemChange) -> VersionInfo:
    """Add or change one item; save the result as a new version and apply it live."""
    section, item_id = request.match_info["section"], request.match_info["item_id"]
    work = _service(request).change(
        section,
        item_id,
        change.value,
        author=await _author(request),
        base_version=change.base_version,
    )
    return await _save(work)


@api.route("DELETE", ITEM_PATH, role=Role.ADMIN, query=BaseVersionQuery, response=VersionInfo)
async def delete_admin_item(request: web.Request, query: BaseVersionQuery) -> VersionInfo:
    """Remove one item; save the result as a new version and apply it live."""
    service = _service(request)
    section, item_id = request.match_info["section"], request.match_info["item_id"]
    if item_id not in (plain_data(service.config).get(section) or {}):
        raise ApiError(404, f"there is no {section} item {item_id!r}")
    work = service.change(
        section, item_id, None, author=await _author(request), base_version=query.base_version
    )
    return await _save(work)


@api.route("POST", "/api/admin/trials", role=Role.ADMIN, body=TrialRequest, response=TrialResult)
async def try_admin_change(request: web.Request, trial: TrialRequest) -> TrialResult:
    """Simulate the live and the proposed config on the same traffic, without applying."""
    service = _service(request)
    current = service.config
    proposed = service.propose(trial.section, trial.item_id, trial.value)
    if isinstance(proposed, list):
        raise _refused(ConfigRefused(proposed))
    traffic = TrialTraffic(
        minutes=trial.minutes, calls_per_minute=trial.calls_per_minute, seed=trial.seed
    )
    calls = await _logged_calls(request) if trial.source == "last_day" else None
    try:
        # The replay is CPU work of a second or so: keep the event loop serving.
        result: Comparison = await asyncio.to_thread(compare, current, proposed, traffic, calls)
    except ValueError as exc:
        raise ApiError(422, f"cannot simulate this change: {exc}") from exc
    warnings: dict[str, str] = {}
    for path, message in staffing_advice(proposed):
        key = ".".join(str(part) for part in path)
        warnings[key] = f"{warnings[key]}; {message}" if key in warnings else message
    return TrialResult(
        source=trial.source,
        minutes=traffic.minutes,
        calls_per_minute=traffic.calls_per_minute,
        seed=traffic.seed,
        calls=result.calls,
        queues=[
            QueueRow(
                queue_id=row.queue_id,
                current=QueueFigures.of(row.current),
                proposed=QueueFigures.of(row.proposed),
            )
            for row in result.queues
        ],
        warnings=warnings,
    )


async def _logged_calls(request: web.Request) -> list[TrialCall]:
    sources = request.app[TRIAL_SOURCES]
    if sources.read_events is None:
        raise ApiError(
            422, "no event log is connected", {"source": "no event log to read callers from"}
        )
    now = sources.now()
    calls = calls_from_log(await sources.read_events(now - DAY_S, now))
    if not calls:
        raise ApiError(
            422,
            "the event log has no callers in the last 24 hours",
            {"source": "no callers in the last 24 hours"},
        )
    return calls


@api.route("GET", "/api/admin/versions", role=Role.ADMIN, response=VersionList)
async def list_admin_versions(request: web.Request) -> VersionList:
    """Return the newest config versions, newest first."""
    service = _service(request)
    history = await service.versions.history()
    return VersionList(
        live=service.version.id, versions=[VersionInfo.of(version) for version in history]
    )


@api.route(
    "GET", "/api/admin/versions/{version_id:[0-9]{1,12}}", role=Role.ADMIN, response=VersionDetail
)
async def get_admin_version(request: web.Request) -> VersionDetail:
    """Return one version with its diff and its whole YAML."""
    version = await _service(request).versions.get(int(request.match_info["version_id"]))
    if version is None:
        raise ApiError(404, "there is no such version")
    return VersionDetail(
        **VersionInfo.of(version).model_dump(), diff=version.diff, document=version.document
    )


@api.route(
    "POST",
    "/api/admin/versions/{version_id:[0-9]{1,12}}/restore",
    role=Role.ADMIN,
    response=VersionInfo,
)
async def restore_admin_version(request: web.Request) -> VersionInfo:
    """Make an earlier version live again (saved as a new version)."""
    version_id = int(request.match_info["version_id"])
    try:
        work = _service(request).restore(version_id, author=await _author(request))
        return await _save(work)
    except UnknownVersion as exc:
        raise ApiError(404, "there is no such version") from exc


@api.route("GET", "/api/admin/export", role=Role.ADMIN)
async def export_admin_config(request: web.Request) -> web.StreamResponse:
    """Download the live config as YAML (check-config accepts it as it is)."""
    service = _service(request)
    name = f"switchboard-config-v{service.version.id}.yaml"
    return web.Response(
        text=dump_config(service.config),
        content_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@api.route("PUT", "/api/admin/config", role=Role.ADMIN, body=ImportRequest, response=VersionInfo)
async def import_admin_config(request: web.Request, document: ImportRequest) -> VersionInfo:
    """Replace the whole config with YAML; save it as a new version and apply it live."""
    work = _service(request).import_document(
        document.yaml, author=await _author(request), base_version=document.base_version
    )
    return await _save(work, with_lines=True)
