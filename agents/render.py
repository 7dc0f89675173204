"""Render a page with what every template needs: the signed-in user, CSRF token and links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from agents.auth import current_session
from agents.nav import NAV_LINKS, links_for


async def template_context(request: web.Request, *, with_session: bool = True) -> dict[str, Any]:
    """Return the signed-in user, their CSRF token and the links their role may follow."""
    session = await current_session(request) if with_session else None
    base: dict[str, Any] = {"request": request, "app": request.app}
    if session is None:
        return {**base, "current_user": None, "csrf_token": None, "nav_links": []}
    app = request.config_dict
    return {
        **base,
        "current_user": session.user,
        "csrf_token": session.csrf_token,
        "nav_links": links_for(app, session.user.role) if NAV_LINKS in app else [],
    }


async def render_page(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    with_session: bool = True,
) -> web.Response:
    """Render `template` (autoescaped) with the common context, then `context` on top."""
    merged = await template_context(request, with_session=with_session)
    merged.update(context or {})
    return aiohttp_jinja2.render_template(template, request, merged, status=status)
