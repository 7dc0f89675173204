"""JSON API plumbing: routes declared with their role and pydantic models, checked and described.

Declare an endpoint on an `Api` and install it; the same table serves the requests and builds
the OpenAPI document, so the document cannot drift from what is served:

    api = Api(tag="agent state")

    @api.route("PUT", "/api/agents/me/state", role=Role.AGENT, body=StateChange, response=State)
    async def set_state(request: web.Request, change: StateChange) -> State: ...

    api.install(app)

A handler gets the validated body as its second argument when the endpoint has a `body`
model, and the validated query string as the keyword argument `query` when it has a `query`
model (flat fields only: `?since=2026-11-23&queue=sales`). It returns a pydantic model (sent
as JSON with `status`), None (204) or any response.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from agents.access import public, requires
from agents.errors import ApiError, field_errors
from agents.roles import Role

ApiHandler = Callable[..., Awaitable[BaseModel | web.StreamResponse | None]]

M = TypeVar("M", bound=BaseModel)

# A regex may hold its own braces ("{id:[0-9]{1,12}}"): one level of nesting is allowed.
_PATH_PARAMETER = re.compile(r"{(\w+)(?::(?:[^{}]|{[^{}]*})*)?}")


@dataclass(frozen=True)
class Endpoint:
    """One API route with everything the OpenAPI document says about it."""

    method: str
    path: str
    handler: ApiHandler
    role: Role | None
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200

    @property
    def operation_id(self) -> str:
        """Return the operation's unique id (the handler's name)."""
        return self.handler.__name__

    @property
    def path_parameters(self) -> list[str]:
        """Return the names of the `{...}` parameters in the path."""
        return _PATH_PARAMETER.findall(self.path)

    @property
    def openapi_path(self) -> str:
        """Return the path with aiohttp's `{name:regex}` written as OpenAPI's `{name}`."""
        return _PATH_PARAMETER.sub(lambda m: "{" + m.group(1) + "}", self.path)


ENDPOINTS = web.AppKey("agents.api_endpoints", list[Endpoint])


def _reject_constant(name: str) -> object:
    # Python's json accepts NaN and Infinity; JSON (RFC 8259) does not.
    raise ValueError(f"{name} is not JSON")


def parse_json_body(raw: bytes, content_type: str, model: type[M]) -> M:
    """Parse and validate a JSON body; raise ApiError with field errors when it is wrong."""
    if content_type != "application/json":
        raise ApiError(415, "send the body as application/json")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise ApiError(400, "the body is not valid JSON: nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError(400, f"the body is not valid JSON: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "the input is not valid", field_errors(exc)) from exc


async def read_body(request: web.Request, model: type[M]) -> M:
    """Read the request's JSON body into `model`; raise ApiError when it is wrong."""
    return parse_json_body(await request.read(), request.content_type, model)


def read_query(request: web.Request, model: type[M]) -> M:
    """Validate the query string into `model`; raise ApiError with field errors when wrong."""
    values: dict[str, str | list[str]] = {}
    for key in request.query:
        found = request.query.getall(key)
        values[key] = found[0] if len(found) == 1 else found
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(422, "the query is not valid", field_errors(exc)) from exc


@dataclass
class Api:
    """A group of API endpoints that one package installs together."""

    tag: str
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        role: Role | None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
    ) -> Callable[[ApiHandler], ApiHandler]:
        """Declare an endpoint; `role=None` makes it public (say so on purpose)."""
        if not path.startswith("/api/"):
            raise ValueError(f"API paths start with /api/: {path!r}")

        def declare(handler: ApiHandler) -> ApiHandler:
            doc = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
            self.endpoints.append(
                Endpoint(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    role=role,
                    summary=doc,
                    tag=self.tag,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                )
            )
            return handler

        return declare

    def install(self, app: web.Application) -> None:
        """Add this group's routes to `app` and to the table the OpenAPI document is built from."""
        if ENDPOINTS not in app:
            app[ENDPOINTS] = []
        taken = {e.operation_id for e in app[ENDPOINTS]}
        for endpoint in self.endpoints:
            # OpenAPI needs unique operation ids; two packages' `get_state` would collide.
            if endpoint.operation_id in taken:
                raise ValueError(
                    f"API handler name {endpoint.operation_id!r} is already used; rename one"
                )
            taken.add(endpoint.operation_id)
            app.router.add_route(endpoint.method, endpoint.path, _serve(endpoint))
            app[ENDPOINTS].append(endpoint)


def _serve(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @functools.wraps(endpoint.handler)
    async def serve(request: web.Request) -> web.StreamResponse:
        args: list[BaseModel] = []
        kwargs: dict[str, BaseModel] = {}
        if endpoint.query is not None:
            kwargs["query"] = read_query(request, endpoint.query)
        if endpoint.body is not None:
            args.append(await read_body(request, endpoint.body))
        result = await endpoint.handler(request, *args, **kwargs)
        if result is None:
            return web.Response(status=204)
        if isinstance(result, BaseModel):
            return web.json_response(text=result.model_dump_json(), status=endpoint.status)
        return result

    rule = public if endpoint.role is None else requires(endpoint.role)
    return rule(serve)
