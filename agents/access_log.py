"""The HTTP access log without query strings, referrers or user agents."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class PrivateAccessLogger(AbstractAccessLogger):
    """Log method, path, status and time of each request, never its query string.

    aiohttp's default format logs the whole request line and the Referer, where a caller's
    number or a name in a query string (a customer search) would end up in the logs.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Write one line for a served request."""
        self.logger.info(
            "%s %s %s %d %.1fms",
            request.remote or "-",
            request.method,
            request.path,
            response.status,
            time * 1000,
        )
