"""JSON API plumbing: field errors from pydantic, bad bodies, and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from agents import Api, Role
from config.app import create_app
from config.settings import Settings
from tests.web.support import PASSWORD, build_app, sign_in

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]


async def test_bad_input_gets_field_errors(client: Client) -> None:
    csrf = await sign_in(client, "ada")
    response = await client.put(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 422
    body = await response.json()
    assert body["error"] == "the input is not valid"
    assert set(body["fields"]) == {"new_password"}
    assert "at least 10 characters" in body["fields"]["new_password"]


async def test_missing_fields_are_each_named(client: Client) -> None:
    csrf = await sign_in(client, "ada")
    response = await client.put("/api/me/password", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status == 422
    assert set((await response.json())["fields"]) == {"current_password", "new_password"}


async def test_wrong_current_password_is_a_field_error(client: Client) -> None:
    csrf = await sign_in(client, "ada")
    response = await client.put(
        "/api/me/password",
        json={"current_password": "not my password", "new_password": "a fine new password"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 422
    assert (await response.json())["fields"] == {"current_password": "is not your current password"}


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"current_password": NaN}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"current_password=x", "application/x-www-form-urlencoded", 415),
        (b"[1, 2]", "application/json", 422),
    ],
)
async def test_bad_bodies_get_json_errors(
    client: Client, data: bytes, content_type: str, status: int
) -> None:
    csrf = await sign_in(client, "ada")
    response = await client.put(
        "/api/me/password",
        data=data,
        headers={"X-CSRF-Token": csrf, "Content-Type": content_type},
    )
    assert response.status == status
    assert set(await response.json()) == {"error", "fields"}


class Thing(BaseModel):
    """A thing, for the document test."""

    name: str = Field(min_length=1)
    size: int = Field(ge=0)


class ThingView(BaseModel):
    """A thing as the API shows it."""

    id: str
    thing: Thing


class ThingFilter(BaseModel):
    """Which things to list."""

    prefix: str = ""
    limit: int = Field(default=10, ge=1, le=100)


class ThingList(BaseModel):
    """Things."""

    names: list[str]


def add_things_api(app: web.Application) -> None:
    api = Api(tag="things")

    @api.route("GET", "/api/things", role=Role.AGENT, query=ThingFilter, response=ThingList)
    async def list_things(request: web.Request, query: ThingFilter) -> ThingList:
        """List things."""
        names = [f"{query.prefix}{n}" for n in range(query.limit)]
        return ThingList(names=names)

    @api.route(
        "PUT", "/api/things/{thing_id}", role=Role.SUPERVISOR, body=Thing, response=ThingView
    )
    async def put_thing(request: web.Request, thing: Thing) -> ThingView:
        """Store a thing."""
        return ThingView(id=request.match_info["thing_id"], thing=thing)

    api.install(app)


async def test_installed_api_serves_models_and_appears_in_the_document(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    world = build_app(tmp_path / "things.db", extra=add_things_api)
    client = await aiohttp_client(world.app)
    await world.auth.users.create("sam", PASSWORD, Role.SUPERVISOR)
    csrf = await sign_in(client, "sam")
    response = await client.put(
        "/api/things/t1", json={"name": "box", "size": 3}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200
    assert await response.json() == {"id": "t1", "thing": {"name": "box", "size": 3}}
    bad = await client.put(
        "/api/things/t1", json={"name": "", "size": -1}, headers={"X-CSRF-Token": csrf}
    )
    assert set((await bad.json())["fields"]) == {"name", "size"}

    listed = await client.get("/api/things", params={"prefix": "t", "limit": "2"})
    assert await listed.json() == {"names": ["t0", "t1"]}
    refused = await client.get("/api/things", params={"limit": "lots"})
    assert refused.status == 422
    assert set((await refused.json())["fields"]) == {"limit"}

    document = await (await client.get("/api/openapi.json")).json()
    validate(document)
    listing = document["paths"]["/api/things"]["get"]
    query = {p["name"]: p for p in listing["parameters"]}
    assert set(query) == {"prefix", "limit"}
    assert query["limit"]["in"] == "query"
    assert query["limit"]["schema"]["maximum"] == 100
    assert not query["limit"]["required"]
    operation = document["paths"]["/api/things/{thing_id}"]["put"]
    assert operation["x-required-role"] == "supervisor"
    assert {p["name"] for p in operation["parameters"]} == {"thing_id", "X-CSRF-Token"}
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/Thing"
    schemas = document["components"]["schemas"]
    assert schemas["Thing"]["properties"]["size"]["minimum"] == 0
    assert "ThingView" in schemas
    assert {"200", "401", "403", "422"} <= set(operation["responses"])


async def test_document_lists_every_api_route_of_the_whole_app(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    client = await aiohttp_client(app)
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    served = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/") and route.method != "HEAD":
            served.add((route.method.lower(), path))
    described = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    assert served, "the app serves API routes"
    assert served == described
    assert {("get", "/api/me"), ("get", "/api/session"), ("delete", "/api/session")} <= served


def test_handler_names_must_be_unique_for_the_document(tmp_path: Path) -> None:
    world = build_app(tmp_path / "dup.db")
    api = Api(tag="dup")

    @api.route("GET", "/api/dup/me", role=Role.AGENT)
    async def get_me(request: web.Request) -> None:
        """Collide with the foundation's get_me."""

    with pytest.raises(ValueError, match="get_me"):
        api.install(world.app)
