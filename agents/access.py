"""Who may reach what: a rule on every route, checked by one middleware, deny by default.

A handler declares its rule with `@public` or `@requires(Role.X)`; a resource whose handler
cannot carry an attribute (static files) is declared with `allow_public_resource`. A route
with no rule is refused to everyone and logged, so forgetting a rule fails closed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_urldispatcher import AbstractResource

from agents.auth import current_session
from agents.errors import is_api_request, json_error, page_error
from agents.roles import Role

log = logging.getLogger(__name__)

_ATTRIBUTE = "__switchboard_access__"
SIGN_IN_PATH = "/signin"

H = TypeVar("H", bound=Callable[..., Any])


@dataclass(frozen=True)
class AccessRule:
    """The least role a route needs; None means anyone, signed in or not."""

    role: Role | None


PUBLIC_RESOURCES = web.AppKey("agents.public_resources", set[AbstractResource])


def public(handler: H) -> H:
    """Let anyone reach this handler, signed in or not."""
    setattr(handler, _ATTRIBUTE, AccessRule(None))
    return handler


def requires(role: Role) -> Callable[[H], H]:
    """Let only users whose role includes `role` reach this handler."""

    def mark(handler: H) -> H:
        setattr(handler, _ATTRIBUTE, AccessRule(role))
        return handler

    return mark


def rule_of_handler(handler: object) -> AccessRule | None:
    """Return the rule a handler declares, or None when it declares none."""
    rule = getattr(handler, _ATTRIBUTE, None)
    return rule if isinstance(rule, AccessRule) else None


def allow_public_resource(app: web.Application, resource: AbstractResource) -> None:
    """Let anyone reach a whole resource, such as the static files."""
    app[PUBLIC_RESOURCES].add(resource)


def route_rule(request: web.Request) -> AccessRule | None:
    """Return the access rule of the route serving `request`, or None."""
    match_info = request.match_info
    rule = rule_of_handler(match_info.handler)
    if rule is not None:
        return rule
    resource = match_info.route.resource
    if resource is not None and resource in request.config_dict[PUBLIC_RESOURCES]:
        return AccessRule(None)
    return None


def _not_signed_in(request: web.Request) -> web.StreamResponse:
    if is_api_request(request):
        return json_error(401, "sign in first")
    target = request.path_qs if request.method == "GET" else "/"
    raise web.HTTPSeeOther(f"{SIGN_IN_PATH}?{urlencode({'next': target})}")


async def forbidden(request: web.Request, message: str) -> web.StreamResponse:
    """Answer 403 as JSON or as a page."""
    if is_api_request(request):
        return json_error(403, message)
    return await page_error(request, 403, "Not allowed", message)


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the route's rule against the signed-in user before the handler runs."""
    if request.match_info.http_exception is not None:
        return await handler(request)  # 404 and 405: nothing to protect
    rule = route_rule(request)
    if rule is None:
        log.error("refused %s %s: the route declares no access rule", request.method, request.path)
        return await forbidden(request, "This address has no access rule, so it is refused.")
    if rule.role is None:
        return await handler(request)
    session = await current_session(request)
    if session is None:
        return _not_signed_in(request)
    if not session.user.role.includes(rule.role):
        log.info(
            "refused %s %s to user %d (%s needs %s)",
            request.method,
            request.path,
            session.user.id,
            session.user.role.value,
            rule.role.value,
        )
        return await forbidden(request, f"This needs the {rule.role.value} role.")
    return await handler(request)


def unruled_routes(app: web.Application) -> list[str]:
    """List the routes of `app` that declare no access rule (they are refused at run time)."""
    missing = []
    for route in app.router.routes():
        if rule_of_handler(route.handler) is not None:
            continue
        if route.resource is not None and route.resource in app[PUBLIC_RESOURCES]:
            continue
        missing.append(f"{route.method} {route.resource.canonical if route.resource else '?'}")
    return missing
