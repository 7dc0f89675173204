"""agents: users, roles, sign-in sessions and the web foundation every page and API builds on.

Other packages use, from here:
- `setup(app, engine, WebOptions(...))` (done once by the composition root),
- `Role`, `public`, `requires(Role.X)` to declare who may reach a route (none: refused),
- `Api(tag)` with `api.route(...)` and `api.install(app)` for JSON endpoints in the OpenAPI
  document, `ApiError` for JSON errors,
- `current_session(request)` for the signed-in user (`reload_session(s)` in websockets),
- `render_page(...)` for a page on the base layout, `add_nav_link(app, NavLink(...))` to
  list a page in the navigation, `add_templates(app, loader)` and
  `add_static(app, name, directory)` for a package's own templates and static files.
"""

from agents.access import public, requires
from agents.api import Api, Endpoint
from agents.auth import AUTH, Auth, current_session, reload_session, reload_sessions
from agents.errors import ApiError, ErrorResponse
from agents.nav import NavLink, add_nav_link
from agents.render import render_page
from agents.roles import Role
from agents.sessions import Session, SessionPolicy
from agents.users import User, UserDirectory, UserError
from agents.web import (
    MIGRATIONS_DIR,
    VERSION_TABLE,
    WebOptions,
    add_static,
    add_templates,
    setup,
)

__all__ = [
    "AUTH",
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "Api",
    "ApiError",
    "Auth",
    "Endpoint",
    "ErrorResponse",
    "NavLink",
    "Role",
    "Session",
    "SessionPolicy",
    "User",
    "UserDirectory",
    "UserError",
    "WebOptions",
    "add_nav_link",
    "add_static",
    "add_templates",
    "current_session",
    "public",
    "reload_session",
    "reload_sessions",
    "render_page",
    "requires",
    "setup",
]
