"""The admin pages: the config by section, one item's form, and the version history.

The pages read; every change goes through the JSON API (admin.js), so a page and a script
calling the API meet exactly the same checks.
"""

from __future__ import annotations

from aiohttp import web

from admin.api import SERVICE
from admin.editing import NEW_ITEM, SECTION_TITLES, SECTIONS, plain_data
from admin.fields import item_rows
from agents import Role, render_page, requires

routes = web.RouteTableDef()

_SECTION = "{section:" + "|".join(SECTIONS) + "}"


def _label(value: object) -> str:
    if isinstance(value, dict):
        for key in ("name", "dnis", "timezone"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return ""


@routes.get("/admin/config")
@requires(Role.ADMIN)
async def config_page(request: web.Request) -> web.StreamResponse:
    """Show every section of the live config with links to change each item."""
    service = request.app[SERVICE]
    data = plain_data(service.config)
    sections = [
        {
            "id": section,
            "title": SECTION_TITLES[section],
            "items": [
                (item_id, _label(value)) for item_id, value in (data.get(section) or {}).items()
            ],
        }
        for section in SECTIONS
    ]
    return await render_page(
        request, "admin_config.html", {"sections": sections, "version": service.version}
    )


@routes.get(f"/admin/config/{_SECTION}/{{item_id}}")
@requires(Role.ADMIN)
async def item_page(request: web.Request) -> web.StreamResponse:
    """Show one item as a form, with "try it first" and "apply"."""
    service = request.app[SERVICE]
    section, item_id = request.match_info["section"], request.match_info["item_id"]
    items = plain_data(service.config).get(section) or {}
    if item_id not in items:
        raise web.HTTPNotFound(text=f"There is no {section} item {item_id}.")
    return await _item_form(request, section, item_id, items[item_id], is_new=False)


@routes.get(f"/admin/new/{_SECTION}")
@requires(Role.ADMIN)
async def new_item_page(request: web.Request) -> web.StreamResponse:
    """Show an empty form for a new item of a section."""
    section = request.match_info["section"]
    return await _item_form(request, section, "", dict(NEW_ITEM[section]), is_new=True)


async def _item_form(
    request: web.Request, section: str, item_id: str, value: dict[str, object], *, is_new: bool
) -> web.StreamResponse:
    service = request.app[SERVICE]
    return await render_page(
        request,
        "admin_item.html",
        {
            "section": section,
            "section_title": SECTION_TITLES[section],
            "item_id": item_id,
            "is_new": is_new,
            "rows": item_rows(value),
            "version": service.version,
            "queues": list(service.config.queues),
        },
    )


@routes.get("/admin/versions")
@requires(Role.ADMIN)
async def versions_page(request: web.Request) -> web.StreamResponse:
    """Show the saved versions with who, when and the diff; restore any of them."""
    service = request.app[SERVICE]
    history = await service.versions.history()
    return await render_page(
        request, "admin_versions.html", {"versions": history, "live": service.version.id}
    )
