"""Every route has a role rule; none is reachable without it; roles are checked everywhere."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import jinja2
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from agents import (
    Role,
    add_static,
    add_templates,
    public,
    reload_session,
    render_page,
    requires,
)
from agents.access import unruled_routes
from config.app import create_app
from config.settings import Settings
from tests.web.support import PASSWORD, build_app, sign_in

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]

# Reachable without signing in, on purpose. Adding a public route means adding it here.
PUBLIC_ROUTES = {
    ("GET", "/signin"),
    ("HEAD", "/signin"),
    ("POST", "/signin"),
    ("GET", "/healthz"),
    ("HEAD", "/healthz"),
    ("GET", "/api/openapi.json"),
    ("GET", "/static/{filename}"),
    ("HEAD", "/static/{filename}"),
}


# Sample values for parameters whose routes only match some values (admin's sections, ids).
SAMPLES = {"section": "queues", "version_id": "1"}


def concrete(path: str) -> str:
    """Fill every `{parameter}` of a route path with a sample value the route matches."""
    return re.sub(r"{(\w+)[^}]*}", lambda m: SAMPLES.get(m.group(1), "x"), path)


def all_routes(app: web.Application) -> list[tuple[str, str]]:
    """Return (method, path template) of every route of `app`."""
    routes = []
    for route in app.router.routes():
        info = route.get_info()
        path = info.get("path") or info.get("formatter") or info.get("prefix", "")
        if "prefix" in info:
            path = f"{info['prefix'].rstrip('/')}/{{filename}}"
        routes.append((route.method, str(path)))
    return routes


async def test_whole_app_refuses_every_private_route_without_sign_in(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    assert unruled_routes(app) == []
    client = await aiohttp_client(app)
    routes = all_routes(app)
    assert {r for r in routes if r in PUBLIC_ROUTES} == PUBLIC_ROUTES
    # Each package's static files (/static/<package>/...) are public like the foundation's.
    private = [r for r in routes if r not in PUBLIC_ROUTES and not r[1].startswith("/static/")]
    assert private, "the app has private routes"
    for method, path in private:
        response = await client.request(method, concrete(path), allow_redirects=False)
        if path.startswith("/api/"):
            assert response.status == 401, (method, path)
            assert (await response.json())["error"] == "sign in first"
        else:
            assert response.status == 303, (method, path)
            assert response.headers["Location"].startswith("/signin?next=")


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("ada", "/agent", 200),
        ("ada", "/supervisor", 403),
        ("ada", "/admin", 403),
        ("sam", "/agent", 200),
        ("sam", "/supervisor", 200),
        ("sam", "/admin", 403),
        ("root", "/agent", 200),
        ("root", "/supervisor", 200),
        ("root", "/admin", 200),
    ],
)
async def test_landing_pages_check_the_role(
    client: Client, username: str, path: str, status: int
) -> None:
    await sign_in(client, username)
    response = await client.get(path, allow_redirects=False)
    assert response.status == status
    if status == 403:
        assert "This needs the" in await response.text()


@pytest.mark.parametrize(("username", "landing"), [("ada", "/agent"), ("sam", "/supervisor")])
async def test_home_sends_each_role_to_its_landing_page(
    client: Client, username: str, landing: str
) -> None:
    await sign_in(client, username)
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == landing


def add_probe_routes(app: web.Application) -> None:
    """Routes only these tests use: one without a rule, a supervisor API and a websocket."""

    async def unruled(request: web.Request) -> web.Response:
        return web.Response(text="should never be served")

    @requires(Role.SUPERVISOR)
    async def board_data(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    @requires(Role.SUPERVISOR)
    async def board_socket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            if await reload_session(request) is None:
                await socket.close(code=4401, message=b"signed out")
                break
            await socket.send_str(f"echo {message.data}")
        return socket

    @public
    async def open_page(request: web.Request) -> web.Response:
        return web.Response(text="anyone")

    @requires(Role.AGENT)
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("customer Jane Doe +441234567890 broke it")

    app.router.add_get("/broken", broken)
    app.router.add_get("/api/probe/broken", broken)
    app.router.add_get("/unruled", unruled)
    app.router.add_get("/api/probe/board", board_data)
    app.router.add_get("/ws/probe", board_socket)
    app.router.add_get("/open", open_page)


@pytest.fixture
async def probe_client(tmp_path: Path, aiohttp_client: ClientFactory) -> Client:
    world = build_app(tmp_path / "probe.db", extra=add_probe_routes)
    client = await aiohttp_client(world.app)
    await world.auth.users.create("ada", PASSWORD, Role.AGENT)
    await world.auth.users.create("sam", PASSWORD, Role.SUPERVISOR)
    await world.auth.users.create("root", PASSWORD, Role.ADMIN)
    return client


async def test_route_without_rule_is_refused_even_to_admins(
    probe_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    assert "GET /unruled" in unruled_routes(probe_client.app)
    await sign_in(probe_client, "root")
    with caplog.at_level(logging.ERROR, logger="agents.access"):
        response = await probe_client.get("/unruled")
    assert response.status == 403
    assert "should never be served" not in await response.text()
    assert "declares no access rule" in caplog.text


async def test_public_route_needs_no_sign_in(probe_client: Client) -> None:
    response = await probe_client.get("/open")
    assert response.status == 200
    assert await response.text() == "anyone"


@pytest.mark.parametrize(("username", "status"), [(None, 401), ("ada", 403), ("sam", 200)])
async def test_api_role_check(probe_client: Client, username: str | None, status: int) -> None:
    if username:
        await sign_in(probe_client, username)
    response = await probe_client.get("/api/probe/board")
    assert response.status == status
    body = await response.json()
    if status != 200:
        assert set(body) == {"error", "fields"}


@pytest.mark.parametrize(("username", "status"), [(None, 401), ("ada", 403)])
async def test_websocket_refused_before_upgrade(
    probe_client: Client, username: str | None, status: int
) -> None:
    if username:
        await sign_in(probe_client, username)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await probe_client.ws_connect("/ws/probe")
    assert refused.value.status == status


async def test_websocket_open_to_the_right_role(probe_client: Client) -> None:
    await sign_in(probe_client, "sam")
    socket = await probe_client.ws_connect("/ws/probe")
    try:
        await socket.send_str("hello")
        assert await socket.receive_str() == "echo hello"
    finally:
        await socket.close()


async def test_unknown_api_path_answers_json_404(client: Client) -> None:
    await sign_in(client, "ada")
    response = await client.get("/api/no-such-thing")
    assert response.status == 404
    assert set(await response.json()) == {"error", "fields"}


async def test_unknown_page_answers_an_error_page(client: Client) -> None:
    response = await client.get("/no-such-page")
    assert response.status == 404
    assert "There is no page at this address." in await response.text()


async def test_websocket_from_another_origin_is_refused(probe_client: Client) -> None:
    await sign_in(probe_client, "sam")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await probe_client.ws_connect("/ws/probe", origin="http://127.0.0.1:1")
    assert refused.value.status == 403
    own = str(probe_client.make_url("")).rstrip("/")
    socket = await probe_client.ws_connect("/ws/probe", origin=own)
    await socket.close()


async def test_package_templates_and_static_files(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    fixtures = Path(__file__).parent / "fixtures"

    def extend(app: web.Application) -> None:
        add_templates(app, jinja2.FileSystemLoader(fixtures / "templates"))
        add_static(app, "probe", fixtures / "static")

        @requires(Role.AGENT)
        async def probe_page(request: web.Request) -> web.StreamResponse:
            return await render_page(request, "probe.html", {"value": "<b>bold</b>"})

        app.router.add_get("/probe", probe_page)

    world = build_app(tmp_path / "pkg.db", extra=extend)
    client = await aiohttp_client(world.app)
    await world.auth.users.create("ada", PASSWORD, Role.AGENT, display_name="Ada")
    script = await client.get("/static/probe/probe.js")
    assert script.status == 200
    assert "dataset.probe" in await script.text()
    assert (await client.get("/static/app.css")).status == 200
    await sign_in(client, "ada")
    html = await (await client.get("/probe")).text()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="/static/app.css"' in html  # the base layout
    assert 'action="/signout"' in html


async def test_websocket_notices_sign_out(probe_client: Client) -> None:
    csrf = await sign_in(probe_client, "sam")
    socket = await probe_client.ws_connect("/ws/probe")
    try:
        await socket.send_str("one")
        assert await socket.receive_str() == "echo one"
        signed_out = await probe_client.delete("/api/session", headers={"X-CSRF-Token": csrf})
        assert signed_out.status == 204
        await socket.send_str("two")
        closing = await socket.receive()
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert socket.close_code == 4401
    finally:
        await socket.close()


async def test_unexpected_errors_are_logged_and_answered_plainly(
    probe_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    await sign_in(probe_client, "ada")
    with caplog.at_level(logging.ERROR):
        page = await probe_client.get("/broken")
        api = await probe_client.get("/api/probe/broken")
    assert page.status == 500
    text = await page.text()
    assert "Something went wrong" in text
    assert "Jane Doe" not in text
    assert api.status == 500
    assert await api.json() == {"error": "internal error; it has been logged", "fields": {}}
    assert "unhandled error on GET /broken" in caplog.text
