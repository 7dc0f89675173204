"""The links in the page header and on the landing pages, each shown to the roles it allows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from agents.roles import Role


@dataclass(frozen=True)
class NavLink:
    """A page someone with at least `role` can open."""

    title: str
    path: str
    role: Role
    description: str = ""


NAV_LINKS = web.AppKey("agents.nav_links", list[NavLink])


def add_nav_link(app: web.Application, link: NavLink) -> None:
    """Show a page in the navigation of everyone whose role includes the link's role."""
    app[NAV_LINKS].append(link)


def links_for(app: web.Application | Mapping[Any, Any], role: Role) -> list[NavLink]:
    """Return the links someone with `role` may follow, in the order they were added."""
    return [link for link in app[NAV_LINKS] if role.includes(link.role)]
