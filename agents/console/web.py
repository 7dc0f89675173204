"""`setup(app, ...)`: the agent console page, its forms, websocket, JSON API and board tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import ValidationError

from agents.access import requires
from agents.auth import current_session, reload_sessions
from agents.console.api import api
from agents.console.control import EngineCallControl, EngineOffers
from agents.console.hub import CHUNK, PING, QUEUES, Hub, Outbox, WriteNow
from agents.console.models import WrapUp
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
from agents.errors import field_errors, page_error
from agents.nav import NavLink, add_nav_link
from agents.render import render_page
from agents.roles import Role
from crm_bridge.interface import CustomerDirectory
from router.intake import CallControl

log = logging.getLogger(__name__)

CONSOLE_PATH = "/agent/console"

routes = web.RouteTableDef()


def setup(
    app: web.Application,
    *,
    routing: Callable[[], ConsoleRouting],
    directory: Callable[[], CustomerDirectory],
    pops: PopSource,
    reason_codes: Callable[[], Mapping[str, str]],
    dispositions: Callable[[], Sequence[DispositionChoice]],
    call_control: CallControl | None = None,
    offers: OfferControl | None = None,
    options: ConsoleOptions | None = None,
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    recording_of: RecordingLookup | None = None,
) -> Console:
    """Add the agent console to `app` (after `agents.setup`); return its hub and service.

    `routing` is called once at startup, after routing started. `directory` returns the
    customer directory (crm_bridge's CUSTOMER_DIRECTORY). `pops` is the screen pop
    (screenpop.ScreenPop): the console subscribes it to routing before itself, so a ready pop
    reaches the agent with or before the offer. `reason_codes` (id -> name) and
    `dispositions` come from the routing config. Without `call_control` and `offers`, the
    console drives the engine alone (an external phone): accept connects, hang-up ends.
    `recording_of(call_id)` returns the reference of the call's recording (or None) for the
    customer's history.
    """
    console = Console(hub=Hub(), options=options or ConsoleOptions())
    app[CONSOLE] = console
    app.router.add_routes(routes)
    api.install(app)
    add_nav_link(app, NavLink("Console", CONSOLE_PATH, Role.AGENT, "Take calls."))

    @contextlib.asynccontextmanager
    async def console_service(_: web.Application) -> AsyncIterator[None]:
        running = routing()
        service = ConsoleService(
            routing=running,
            call_control=call_control or EngineCallControl(lambda: running.runtime),
            offers=offers or EngineOffers(lambda: running.runtime),
            directory=directory,
            pops=pops,
            reason_codes=reason_codes,
            dispositions=dispositions,
            options=console.options,
            hub=console.hub,
            wall_clock=wall_clock,
            recording_of=recording_of,
        )
        pops.deliver_to(service.deliver_pop)
        # The pop's listener first: its frame then leaves before the offer's state frame.
        stop_pops = running.runtime.subscribe(pops.on_events)
        stop_console = running.runtime.subscribe(service.on_events)
        console.service = service
        tasks = [
            asyncio.create_task(_tick(service), name="console-board-tick"),
            asyncio.create_task(_recheck_sessions(console), name="console-session-check"),
            asyncio.create_task(_heartbeat(console), name="console-heartbeat"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            stop_console()
            stop_pops()
            await _close_sockets(console)
            await service.close()

    app.cleanup_ctx.append(console_service)
    # Open consoles would hold the server's graceful shutdown for its whole timeout otherwise.
    app.on_shutdown.append(lambda _app: _close_sockets(console))
    return console


async def _tick(service: ConsoleService) -> None:
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await service.tick()
        except Exception:
            log.exception("building the queue counts failed; the next tick retries")
        # One update per interval however long sending it to every console took (counted
        # from its start), and never a catch-up burst after a slow one.
        await asyncio.sleep(max(0.0, service.options.board_interval_s - (loop.time() - started)))


async def _close_sockets(console: Console) -> None:
    for socket in list(console.sockets):
        await socket.close(code=1001, message=b"server shutting down")


async def _agent_id(request: web.Request) -> str | None:
    session = await current_session(request)
    return None if session is None else session.user.agent_id


# ------------------------------------------------------------------------------ page


@routes.get(CONSOLE_PATH)
@requires(Role.AGENT)
async def console_page(request: web.Request) -> web.StreamResponse:
    """Show the agent console."""
    return await _render(request)


async def _render(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    agent_id = await _agent_id(request)
    if agent_id is None:
        return await page_error(
            request, 403, "No console", "You have no agent id, so calls cannot reach you."
        )
    service = request.app[CONSOLE].started()
    try:
        state = service.state_of(agent_id)
    except ConsoleError as exc:
        return await page_error(request, exc.status, "No console", exc.message)
    return await render_page(
        request, "console/page.html", {"state": state, "error": error}, status=status
    )


@routes.post(CONSOLE_PATH + "/state")
@requires(Role.AGENT)
async def console_state_form(request: web.Request) -> web.StreamResponse:
    """Change state from the page's form (the same as PUT /api/console/state)."""
    agent_id = await _agent_id(request)
    form = await request.post()
    state = str(form.get("state", ""))
    reason = str(form.get("reason_code", "")) or None
    if agent_id is None or state not in ("ready", "not_ready", "logged_out"):
        return await _render(request, error="Choose Ready, Not ready or Log out.", status=400)
    try:
        request.app[CONSOLE].started().set_state(agent_id, state, reason)
    except ConsoleError as exc:
        message = "; ".join(exc.fields.values()) or exc.message
        return await _render(request, error=message, status=exc.status)
    raise web.HTTPSeeOther(CONSOLE_PATH)


@routes.post(CONSOLE_PATH + "/wrapup")
@requires(Role.AGENT)
async def console_wrap_up_form(request: web.Request) -> web.StreamResponse:
    """Submit the wrap-up from the page's form (the same as POST /api/console/wrapup)."""
    agent_id = await _agent_id(request)
    form = await request.post()
    fields = {
        key: str(form.get(key, ""))
        for key in ("call_id", "disposition", "notes", "case_subject", "follow_up_at")
    }
    data: dict[str, str | None] = {k: (v or None) for k, v in fields.items()}
    data["notes"] = fields["notes"]
    try:
        wrap = WrapUp.model_validate(data)
    except ValidationError as exc:
        message = "; ".join(f"{k}: {v}" for k, v in field_errors(exc).items())
        return await _render(request, error=message, status=422)
    if agent_id is None:
        return await _render(request, error="You have no agent id.", status=403)
    try:
        await request.app[CONSOLE].started().submit(agent_id, wrap)
    except ConsoleError as exc:
        message = "; ".join(exc.fields.values()) or exc.message
        return await _render(request, error=message, status=exc.status)
    raise web.HTTPSeeOther(CONSOLE_PATH)


# ------------------------------------------------------------------------------ websocket


@routes.get(CONSOLE_PATH + "/ws")
@requires(Role.AGENT)
async def console_socket(request: web.Request) -> web.StreamResponse:
    """Stream the agent's console: the whole state at once, then every change and pop."""
    agent_id = await _agent_id(request)
    if agent_id is None:
        raise web.HTTPForbidden(reason="you have no agent id")
    console = request.app[CONSOLE]
    service = console.started()
    # Pings and pongs are the console's own (`_heartbeat`): aiohttp's heartbeat keeps timers
    # per connection (4% of the loop's time at 10,000 consoles), and every long-lived object
    # brings the garbage collector's next full pass nearer (about 1 s there, pops waiting).
    socket = web.WebSocketResponse(autoping=False)
    await socket.prepare(request)
    outbox = console.hub.connect(agent_id, _write_now(socket, request))
    console.sockets[socket] = (request, agent_id, outbox)
    try:
        # The resync: a (re)connected console gets the whole state before anything else.
        service.push_state(agent_id)
        outbox.offer(QUEUES, service.queues_frame())
    except ConsoleError as exc:
        await socket.close(code=4404, message=exc.message.encode()[:120])
    sender = asyncio.create_task(_send(socket, outbox))
    try:
        async for message in socket:
            # The console acts through the JSON API; the socket only carries frames out.
            if message.type is WSMsgType.PONG:
                outbox.answered = True
            elif message.type is WSMsgType.PING:
                await socket.pong(message.data)
            elif message.type is WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        console.hub.disconnect(outbox)
        console.sockets.pop(socket, None)
    return socket


def _write_now(socket: web.WebSocketResponse, request: web.Request) -> WriteNow:
    transport = request.transport

    def write_now(wire: bytes) -> bool:
        # Only between whole frames (nothing else runs while this does), never after the
        # close frame, and only when nothing is waiting to leave: a slow browser's bytes do
        # not pile up here, its outbox keeps the newest frame instead.
        if socket.closed or transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size():
            return False
        transport.write(wire)
        return True

    return write_now


async def _send(socket: web.WebSocketResponse, outbox: Outbox) -> None:
    while not socket.closed:
        frame = await outbox.next()
        try:
            await socket.send_frame(frame, WSMsgType.TEXT)
        except ConnectionError:
            return


async def _recheck_sessions(console: Console) -> None:
    """Close every open console whose session ended (signed out, expired, user disabled).

    All open consoles at once, in a few batched reads (`reload_sessions`), so a round costs
    the session store a handful of queries however many consoles are open, and sign-ins,
    API calls and CRM lookups keep the rest of its pool.
    """
    interval = console.options.session_check_s
    while True:
        await asyncio.sleep(interval)
        live = [(s, r, a) for s, (r, a, _) in list(console.sockets.items()) if not s.closed]
        try:
            sessions = await reload_sessions([request for _, request, _ in live])
        except Exception:
            # The store is overloaded or away: the consoles were signed in at their last
            # check, so they stay live until the next round rather than go silent.
            log.warning("could not re-check the consoles' sessions", exc_info=True)
            continue
        ended = [
            socket
            for (socket, _, agent_id), session in zip(live, sessions, strict=True)
            if session is None or session.user.agent_id != agent_id
        ]
        # Together: each close waits for the browser's reply, and one slow browser must
        # not hold the others open.
        await asyncio.gather(
            *(socket.close(code=4401, message=b"signed out") for socket in ended),
            return_exceptions=True,
        )


async def _heartbeat(console: Console) -> None:
    """Ping every open console each `heartbeat_s`; close one that did not answer the last.

    One task for all, paced chunk by chunk over half the interval like the board update (the
    pongs of 10,000 consoles at once are a burst a pop would wait behind), and no timer per
    connection: a dead connection (a laptop lid shut, a network gone) is closed within two
    intervals.
    """
    interval = console.options.heartbeat_s
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        silent = []
        items = list(console.sockets.items())
        pause = interval / 2 * CHUNK / len(items) if items else 0.0
        for start in range(0, len(items), CHUNK):
            for socket, (_, _, outbox) in items[start : start + CHUNK]:
                if socket.closed:
                    continue
                if not outbox.answered:
                    silent.append(socket)
                    continue
                # Unanswered until its pong; a connection too backed up to take the ping now
                # gets none, and is closed next time unless it answers an earlier one.
                outbox.answered = False
                if outbox.write_now is not None:
                    outbox.write_now(PING)
            await asyncio.sleep(pause if start + CHUNK < len(items) else 0)
        await asyncio.gather(
            *(socket.close(code=WSCloseCode.GOING_AWAY, message=b"no pong") for socket in silent),
            return_exceptions=True,
        )
        await asyncio.sleep(max(0.0, interval - (loop.time() - started)))
