"""Only admins reach the admin pages and API; agents and supervisors are refused."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.admin.support import AdminWorld
from tests.web.support import sign_in

Client = TestClient[web.Request, web.Application]

# One concrete request for every admin route (a test below checks none is left out).
PAGES = ["/admin/config", "/admin/config/queues/sales", "/admin/new/routes", "/admin/versions"]
API = [
    ("GET", "/api/admin/config"),
    ("PUT", "/api/admin/config"),
    ("GET", "/api/admin/config/queues/sales"),
    ("PUT", "/api/admin/config/queues/sales"),
    ("DELETE", "/api/admin/config/queues/sales"),
    ("POST", "/api/admin/trials"),
    ("GET", "/api/admin/versions"),
    ("GET", "/api/admin/versions/1"),
    ("POST", "/api/admin/versions/1/restore"),
    ("GET", "/api/admin/export"),
]


def admin_routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if (path.startswith("/admin/") or path.startswith("/api/admin")) and route.method != "HEAD":
            found.add((route.method, path))
    return found


def test_every_admin_route_is_in_the_lists(world: AdminWorld) -> None:
    routes = admin_routes(world.app)
    assert len(routes) == len(PAGES) + len(API)


@pytest.mark.parametrize("username", ["ada", "sam"])
async def test_agents_and_supervisors_are_refused_every_admin_page_and_call(
    client: Client, world: AdminWorld, username: str
) -> None:
    token = await sign_in(client, username)
    for path in PAGES:
        response = await client.get(path)
        assert response.status == 403, path
        assert "This needs the admin role." in await response.text()
    for method, path in API:
        response = await client.request(
            method, path, json={"value": {"name": "x"}}, headers={"X-CSRF-Token": token}
        )
        assert response.status == 403, (method, path)
        assert (await response.json())["error"]
    assert world.service.version.id == 1
    assert world.router.applied == []


async def test_anonymous_requests_are_sent_to_sign_in(client: Client) -> None:
    for path in PAGES:
        response = await client.get(path, allow_redirects=False)
        assert response.status in (302, 303), path
        assert response.headers["Location"].startswith("/signin?next=")
    for method, path in API:
        response = await client.request(method, path, json={})
        # A state-changing call without a session fails CSRF or sign-in: never reaches the admin.
        assert response.status in (401, 403), (method, path)


async def test_an_admin_reaches_every_page(client: Client) -> None:
    await sign_in(client, "root")
    for path in PAGES:
        response = await client.get(path)
        assert response.status == 200, path
    landing = await (await client.get("/admin")).text()
    assert 'href="/admin/config"' in landing
    assert 'href="/admin/versions"' in landing
