"""CSRF protection: every state-changing request carries a token the attacker cannot read.

Signed in, the token is the session's own (stored with it server-side). Before sign-in (the
sign-in form), it is a token this app signed, echoed from a SameSite=Strict cookie. Forms send
it in the `csrf_token` field; JSON requests send it in the X-CSRF-Token header.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from agents.access import route_rule
from agents.auth import current_session, presession_token
from agents.errors import is_api_request, json_error, page_error

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def sent_token(request: web.Request) -> str | None:
    """Return the CSRF token the request carries: the header, or a form's hidden field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if is_api_request(request) or request.content_type not in _FORM_TYPES:
        return None
    # aiohttp caches the parsed form, so the handler can read it again.
    value = (await request.post()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


async def expected_tokens(request: web.Request) -> list[str]:
    """Return the tokens that would be accepted for this request."""
    tokens: list[str] = []
    session = await current_session(request)
    if session is not None:
        tokens.append(session.csrf_token)
    rule = route_rule(request)
    # A public form (sign-in) may be posted before there is any session.
    if rule is not None and rule.role is None:
        pre = presession_token(request)
        if pre is not None:
            tokens.append(pre)
    return tokens


async def csrf_refused(request: web.Request) -> web.Response:
    """Answer a request whose CSRF token is missing or wrong."""
    log.warning("refused %s %s: missing or wrong CSRF token", request.method, request.path)
    if is_api_request(request):
        return json_error(
            403,
            f"missing or wrong CSRF token: send the {CSRF_HEADER} header "
            "with the token from GET /api/session",
        )
    return await page_error(
        request,
        403,
        "Form refused",
        "This form was refused because its security token is missing or out of date, "
        "so it may not have come from this site. Go back, reload the page and send it again.",
    )


def foreign_websocket(request: web.Request) -> bool:
    """Tell whether a websocket handshake comes from a page of another origin.

    A websocket opens with a GET, so it carries no CSRF token; browsers always send Origin on
    it, and SameSite does not stop a page on another port of the same host (same site).
    """
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return False
    origin = request.headers.get("Origin")
    return origin is not None and origin != f"{request.scheme}://{request.host}"


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state-changing requests without the right CSRF token, and foreign websockets."""
    if foreign_websocket(request):
        log.warning("refused a websocket to %s from another origin", request.path)
        return json_error(403, "websocket from another origin")
    if request.method in SAFE_METHODS or request.match_info.http_exception is not None:
        return await handler(request)
    token = await sent_token(request)
    expected = await expected_tokens(request)
    if token is None or not any(hmac.compare_digest(token, good) for good in expected):
        return await csrf_refused(request)
    return await handler(request)
