"""Errors as the client expects them: JSON for the API, a page for the browser."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, Field, ValidationError

from agents.render import render_page

log = logging.getLogger(__name__)


class ErrorResponse(BaseModel):
    """What every JSON API error looks like."""

    error: str = Field(description="What went wrong, for a person to read.")
    fields: dict[str, str] = Field(
        default_factory=dict, description="Per-field problems with the input, by field path."
    )


class ApiError(Exception):
    """An error the API reports to the client as JSON with this status."""

    def __init__(self, status: int, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = dict(fields or {})


def is_api_request(request: web.Request) -> bool:
    """Tell whether the client wants JSON (API and websocket) rather than a page."""
    if request.path.startswith("/api/") or request.path == "/api":
        return True
    return request.headers.get("Upgrade", "").lower() == "websocket"


def json_error(status: int, message: str, fields: Mapping[str, str] | None = None) -> web.Response:
    """Build a JSON error response."""
    body = ErrorResponse(error=message, fields=dict(fields or {}))
    return web.json_response(text=body.model_dump_json(), status=status)


def field_errors(error: ValidationError) -> dict[str, str]:
    """Map pydantic's errors to {"field.path": "message"}."""
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in item["loc"]) or "body"
        fields.setdefault(path, item["msg"])
    return fields


async def page_error(
    request: web.Request, status: int, title: str, message: str, *, with_session: bool = True
) -> web.Response:
    """Render the error page."""
    return await render_page(
        request,
        "error.html",
        {"title": title, "message": message},
        status=status,
        with_session=with_session,
    )


_PAGE_MESSAGES = {
    404: ("Not found", "There is no page at this address."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "What was sent is too large."),
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn errors into JSON for the API and into pages for the browser."""
    try:
        return await handler(request)
    except ApiError as exc:
        return json_error(exc.status, exc.message, exc.fields)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if is_api_request(request):
            return json_error(exc.status, exc.reason)
        if exc.status in _PAGE_MESSAGES:
            title, message = _PAGE_MESSAGES[exc.status]
            return await page_error(request, exc.status, title, message)
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_request(request):
            return json_error(500, "internal error; it has been logged")
        # Without the session: the failure may be the session store itself.
        return await page_error(
            request,
            500,
            "Something went wrong",
            "The error has been logged. Try again.",
            with_session=False,
        )
