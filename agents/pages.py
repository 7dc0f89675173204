"""The pages of the foundation: sign-in, sign-out and a landing page per role."""

from __future__ import annotations

import hashlib
import logging

from aiohttp import web

from agents.access import SIGN_IN_PATH, public, requires
from agents.auth import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    auth_of,
    clear_session_cookie,
    client_address,
    current_session,
    new_presession_token,
    presession_token,
    remember_session,
    set_presession_cookie,
    set_session_cookie,
)
from agents.nav import links_for
from agents.render import render_page
from agents.roles import Role

log = logging.getLogger(__name__)

LANDING_PATHS = {Role.AGENT: "/agent", Role.SUPERVISOR: "/supervisor", Role.ADMIN: "/admin"}

routes = web.RouteTableDef()


def safe_next(value: object) -> str:
    """Return `value` when it is a path on this site, else "/" (no open redirects)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return "/"
    # Browsers drop tabs and newlines from URLs and read "\\" as "/": "/\t/evil.example" and
    # "/\\evil.example" would both leave the site.
    if any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in value):
        return "/"
    return value


def see_other(location: str) -> web.Response:
    """Answer 303 See Other: a redirect that cookies can be set on before it is returned."""
    return web.Response(status=303, headers={"Location": location})


def _username_tag(username: str) -> str:
    # Logs correlate attempts on one account without holding what was typed: people sometimes
    # type their password into the username field.
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:12]


async def _sign_in_form(
    request: web.Request,
    *,
    username: str = "",
    next_path: str = "/",
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    token = presession_token(request)
    fresh = token is None
    if token is None:
        token = new_presession_token(request)
    response = await render_page(
        request,
        "signin.html",
        {"csrf_token": token, "username": username, "next": next_path, "error": error},
        status=status,
    )
    if fresh:
        set_presession_cookie(request, response, token)
    return response


@routes.get(SIGN_IN_PATH)
@public
async def sign_in_page(request: web.Request) -> web.StreamResponse:
    """Show the sign-in form, or go on if already signed in."""
    next_path = safe_next(request.query.get("next"))
    if await current_session(request) is not None:
        raise web.HTTPSeeOther(next_path)
    return await _sign_in_form(request, next_path=next_path)


@routes.post(SIGN_IN_PATH)
@public
async def sign_in(request: web.Request) -> web.StreamResponse:
    """Check the username and password, start a fresh session and go on."""
    auth = auth_of(request)
    form = await request.post()
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    next_path = safe_next(form.get("next"))
    address = client_address(request)

    wait = auth.throttle.retry_after(username, address)
    if wait:
        log.warning("sign-in throttled for account %s from %s", _username_tag(username), address)
        response = await _sign_in_form(
            request,
            username=username,
            next_path=next_path,
            error=f"Too many attempts, try again in {wait} s.",
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response

    user = await auth.users.authenticate(username, password) if username and password else None
    auth.throttle.attempted(username, address, succeeded=user is not None)
    if user is None:
        log.warning("sign-in failed for account %s from %s", _username_tag(username), address)
        return await _sign_in_form(
            request,
            username=username,
            next_path=next_path,
            error="Wrong username or password.",
            status=401,
        )

    # A new session id at every sign-in: a token planted before sign-in never becomes valid.
    old_token = request.cookies.get(SESSION_COOKIE)
    if old_token:
        await auth.sessions.revoke(old_token)
    token, session = await auth.sessions.create(user)
    remember_session(request, session)
    log.info("user %d signed in from %s", user.id, address)
    response = see_other(next_path)
    set_session_cookie(request, response, token)
    response.del_cookie(PRESESSION_COOKIE, path="/")
    return response


@routes.post("/signout")
@requires(Role.AGENT)
async def sign_out(request: web.Request) -> web.StreamResponse:
    """End the session and go back to the sign-in page."""
    session = await current_session(request)
    if session is not None:
        await auth_of(request).sessions.revoke_hash(session.token_hash)
        log.info("user %d signed out", session.user.id)
    remember_session(request, None)
    response = see_other(SIGN_IN_PATH)
    clear_session_cookie(request, response)
    return response


@routes.get("/")
@requires(Role.AGENT)
async def home(request: web.Request) -> web.StreamResponse:
    """Send the user to their role's landing page."""
    session = await current_session(request)
    assert session is not None  # the access middleware let only signed-in users in
    raise web.HTTPSeeOther(LANDING_PATHS[session.user.role])


async def _landing(request: web.Request, role: Role) -> web.Response:
    session = await current_session(request)
    assert session is not None
    links = [
        link
        for link in links_for(request.app, session.user.role)
        if link.role == role and link.path != LANDING_PATHS[role]
    ]
    return await render_page(request, f"landing_{role.value}.html", {"role_links": links})


@routes.get(LANDING_PATHS[Role.AGENT])
@requires(Role.AGENT)
async def agent_home(request: web.Request) -> web.StreamResponse:
    """Show the agent's landing page."""
    return await _landing(request, Role.AGENT)


@routes.get(LANDING_PATHS[Role.SUPERVISOR])
@requires(Role.SUPERVISOR)
async def supervisor_home(request: web.Request) -> web.StreamResponse:
    """Show the supervisor's landing page."""
    return await _landing(request, Role.SUPERVISOR)


@routes.get(LANDING_PATHS[Role.ADMIN])
@requires(Role.ADMIN)
async def admin_home(request: web.Request) -> web.StreamResponse:
    """Show the admin's landing page."""
    return await _landing(request, Role.ADMIN)


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.StreamResponse:
    """Tell the container the process serves requests."""
    return web.json_response({"status": "ok"})
