"""`setup(app, ...)`: the board's pages, websocket, API, reports, `/metrics` and its tasks."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import WSMsgType, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from agents import (
    NavLink,
    Role,
    add_nav_link,
    add_static,
    add_templates,
    public,
    reload_session,
    render_page,
    requires,
)
from board.api import api
from board.broadcast import Broadcaster, Connection
from board.eventlog import EventLog, read_records
from board.live import LiveBoard, Routing, day_start
from board.prom import BoardMetrics, RoutingView
from board.records import Recorder
from board.reports import (
    Interval,
    ReportError,
    agent_cells,
    agent_csv,
    build_report,
    chart,
    queue_cells,
    queue_csv,
    stamp,
)
from board.service import BOARD, METRICS, BoardOptions, BoardService

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
BOARD_PATH = "/supervisor/board"
REPORTS_PATH = "/supervisor/reports"

routes = web.RouteTableDef()


def setup(
    app: web.Application,
    db: AsyncEngine,
    routing: Callable[[], Routing],
    options: BoardOptions | None = None,
    *,
    clock: Callable[[], float] = time.time,
    customer_of: Callable[[str], str | None] = lambda _call_id: None,
) -> BoardMetrics:
    """Add the board to `app`; `routing` is called once at startup (after routing started).

    The event log's tables must be migrated first (board.eventlog.MIGRATIONS_DIR with
    VERSION_TABLE). Returns the app's Prometheus metrics, for other packages to count into
    (SIP messages, websocket connections).
    """
    options = options or BoardOptions()
    metrics = BoardMetrics()
    service = BoardService(
        db=db,
        options=options,
        clock=clock,
        metrics=metrics,
        event_log=EventLog(db, options.event_log),
        live=LiveBoard(clock, customer_of),
    )
    metrics.event_log = service.event_log
    app[BOARD] = service
    app[METRICS] = metrics
    add_templates(app, jinja2.PackageLoader("board", "templates"))
    add_static(app, "board", STATIC_DIR)
    app.router.add_routes(routes)
    if options.metrics_token:
        app.router.add_get("/metrics", _scrape_with_token(options.metrics_token))
    else:
        app.router.add_get("/metrics", prometheus_metrics)
    api.install(app)
    add_nav_link(app, NavLink("Board", BOARD_PATH, Role.SUPERVISOR, "Queues and agents, live."))
    add_nav_link(
        app, NavLink("Reports", REPORTS_PATH, Role.SUPERVISOR, "Intervals, charts and CSV.")
    )
    app.cleanup_ctx.append(_event_log_context(service))
    app.cleanup_ctx.append(_live_context(service, routing))
    app.cleanup_ctx.append(_broadcast_context(service))
    # Open boards would hold the server's graceful shutdown for its whole timeout otherwise.
    app.on_shutdown.append(lambda _app: _close_sockets(service))
    return metrics


async def _close_sockets(service: BoardService) -> None:
    for socket in list(service.sockets):
        await socket.close(code=1001, message=b"server shutting down")


def _event_log_context(
    service: BoardService,
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def event_log_writer(_: web.Application) -> AsyncIterator[None]:
        service.event_log.start()
        try:
            yield
        finally:
            await service.event_log.close()

    return event_log_writer


def _live_context(
    service: BoardService, resolve: Callable[[], Routing]
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def board_listener(_: web.Application) -> AsyncIterator[None]:
        routing = resolve()
        live, metrics = service.live, service.metrics
        # Until today's logged records are folded in, live records wait in `pending`, so the
        # board's figures neither miss nor double-count a record across a restart.
        pending: list[Any] = []
        recorder = Recorder(
            service.clock,
            routing.queue_specs,
            [service.event_log.append, pending.extend, metrics.observe],
        )
        unsubscribe = routing.runtime.subscribe(recorder)
        stop_timing = metrics.time_decisions(routing.runtime)
        loaded_to = service.clock()
        try:
            earlier = await read_records(service.db, day_start(loaded_to), loaded_to)
        except Exception:
            log.exception("could not read today's event log; the board starts from zero")
            earlier = []
        live.load(earlier)
        live.apply(pending)
        recorder.sinks[1] = live.apply
        service.routing, service.recorder = routing, recorder
        metrics.view = RoutingView(routing.runtime, lambda: [q.id for q in routing.queues()])
        metrics.start_queues([q.id for q in routing.queues()])
        try:
            yield
        finally:
            metrics.view = None
            stop_timing()
            unsubscribe()

    return board_listener


def _broadcast_context(
    service: BoardService,
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def board_broadcaster(_: web.Application) -> AsyncIterator[None]:
        routing = service.routing
        if routing is None:
            raise RuntimeError("the board listener must start before the broadcaster")
        broadcaster = Broadcaster(
            lambda: service.live.frame(routing),
            service.options.push_interval_s,
            service.options.connection_queue,
        )
        service.broadcaster = broadcaster
        broadcaster.start()
        try:
            yield
        finally:
            await broadcaster.stop()
            await _close_sockets(service)

    return board_broadcaster


# ------------------------------------------------------------------------------ live board


@routes.get(BOARD_PATH)
@requires(Role.SUPERVISOR)
async def board_page(request: web.Request) -> web.StreamResponse:
    """Show the live board."""
    return await render_page(request, "board/board.html")


@routes.get(BOARD_PATH + "/ws")
@requires(Role.SUPERVISOR)
async def board_socket(request: web.Request) -> web.StreamResponse:
    """Stream the board: the latest frame at once, then at most one a second."""
    service = request.app[BOARD]
    _, _, broadcaster = service.started()
    socket = web.WebSocketResponse(heartbeat=30.0)
    await socket.prepare(request)
    connection = broadcaster.connect()
    service.sockets.add(socket)
    gauge = service.metrics.websocket_connections.labels("board")
    gauge.inc()
    sender = asyncio.create_task(_send_frames(request, socket, connection, service))
    try:
        async for message in socket:
            # The board sends nothing; anything but a close is ignored.
            if message.type is WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        broadcaster.disconnect(connection)
        service.sockets.discard(socket)
        gauge.dec()
    return socket


async def _send_frames(
    request: web.Request,
    socket: web.WebSocketResponse,
    connection: Connection,
    service: BoardService,
) -> None:
    loop = asyncio.get_running_loop()
    checked = loop.time()
    while not socket.closed:
        frame = await connection.next()
        if loop.time() - checked >= service.options.session_check_s:
            checked = loop.time()
            session = await reload_session(request)
            if session is None or not session.user.role.includes(Role.SUPERVISOR):
                await socket.close(code=4401, message=b"signed out")
                return
        try:
            # The frame was encoded once for every board: send those bytes as a text frame.
            await socket.send_frame(frame, WSMsgType.TEXT)
        except ConnectionError:
            return


# ------------------------------------------------------------------------------ reports


def _parse_day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ReportError(f"{text[:40]!r} is not a date (YYYY-MM-DD)") from exc


def _report_query(request: web.Request, clock: Callable[[], float]) -> tuple[date, date, Interval]:
    today = datetime.fromtimestamp(clock(), UTC).date()
    first = _parse_day(request.query.get("from"), today)
    last = _parse_day(request.query.get("to"), first)
    try:
        interval = Interval(request.query.get("interval", Interval.HOUR.value))
    except ValueError as exc:
        raise ReportError("the interval is one of 15m, hour, day") from exc
    if last < first:
        raise ReportError("the last day must not be before the first")
    return first, last, interval


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


@routes.get(REPORTS_PATH)
@requires(Role.SUPERVISOR)
async def reports_page(request: web.Request) -> web.StreamResponse:
    """Show interval reports per queue and per agent for a chosen range."""
    service = request.app[BOARD]
    context: dict[str, Any] = {"intervals": list(Interval), "error": None, "report": None}
    today = datetime.fromtimestamp(service.clock(), UTC).date()
    context.update(first=today.isoformat(), last=today.isoformat(), interval=Interval.HOUR)
    try:
        first, last, interval = _report_query(request, service.clock)
        context.update(first=first.isoformat(), last=last.isoformat(), interval=interval)
        report = await build_report(
            service.db,
            _epoch(first),
            _epoch(last + timedelta(days=1)),
            interval,
            now=service.clock(),
        )
    except ReportError as exc:
        log.info("report refused: %s", exc)
        context["error"] = str(exc)
        return await render_page(request, "board/reports.html", context, status=400)
    context.update(
        report=report,
        chart=chart(report),
        stamp=stamp,
        queue_cells=queue_cells,
        agent_cells=agent_cells,
        query=request.query_string,
    )
    return await render_page(request, "board/reports.html", context)


@routes.get(REPORTS_PATH + ".csv")
@requires(Role.SUPERVISOR)
async def reports_csv(request: web.Request) -> web.StreamResponse:
    """Export a report as CSV (view=queues or view=agents)."""
    service = request.app[BOARD]
    view = request.query.get("view", "queues")
    try:
        if view not in ("queues", "agents"):
            raise ReportError("the view is queues or agents")
        first, last, interval = _report_query(request, service.clock)
        report = await build_report(
            service.db,
            _epoch(first),
            _epoch(last + timedelta(days=1)),
            interval,
            now=service.clock(),
        )
    except ReportError as exc:
        return web.Response(status=400, text=str(exc) + "\n", content_type="text/plain")
    body = queue_csv(report) if view == "queues" else agent_csv(report)
    name = f"switchboard-{view}-{first.isoformat()}-{last.isoformat()}-{interval.value}.csv"
    return web.Response(
        text=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ------------------------------------------------------------------------------ Prometheus


def _exposition(request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest(request.app[METRICS].registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


@requires(Role.SUPERVISOR)
async def prometheus_metrics(request: web.Request) -> web.StreamResponse:
    """Expose every metric in the Prometheus text format (no token set: supervisors only)."""
    return _exposition(request)


def _scrape_with_token(token: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    expected = f"Bearer {token}".encode()

    @public  # the bearer token below is the check: Prometheus has no session
    async def scrape_metrics(request: web.Request) -> web.StreamResponse:
        """Expose every metric in the Prometheus text format to a holder of the token."""
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("refused a /metrics scrape without the right bearer token")
            return web.json_response(
                {"error": "send the metrics bearer token", "fields": {}},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return _exposition(request)

    return scrape_metrics
