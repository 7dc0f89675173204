"""The API of the signed-in user: who am I, my session, my password."""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from agents.api import Api
from agents.auth import (
    auth_of,
    clear_session_cookie,
    client_address,
    current_session,
    remember_session,
)
from agents.errors import ApiError
from agents.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from agents.roles import Role
from agents.sessions import Session

log = logging.getLogger(__name__)

api = Api(tag="session")


class Me(BaseModel):
    """The signed-in user."""

    username: str
    display_name: str
    role: Role
    agent_id: str | None = Field(description="The router's agent id, for users who take calls.")


class SessionInfo(BaseModel):
    """The current session and the token state-changing requests must send."""

    csrf_token: str = Field(description="Send it in the X-CSRF-Token header.")
    created_at: datetime
    expires_at: datetime = Field(description="When the session ends unless it is used again.")
    idle_timeout_s: int
    absolute_timeout_s: int


class PasswordChange(BaseModel):
    """A new password, confirmed with the current one."""

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


async def _session(request: web.Request) -> Session:
    session = await current_session(request)
    if session is None:  # the access middleware lets only signed-in users reach these
        raise ApiError(401, "sign in first")
    return session


@api.route("GET", "/api/me", role=Role.AGENT, response=Me)
async def get_me(request: web.Request) -> Me:
    """Return the signed-in user."""
    user = (await _session(request)).user
    return Me(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        agent_id=user.agent_id,
    )


@api.route("GET", "/api/session", role=Role.AGENT, response=SessionInfo)
async def get_session(request: web.Request) -> SessionInfo:
    """Return the current session and its CSRF token."""
    session = await _session(request)
    policy = auth_of(request).sessions.policy
    return SessionInfo(
        csrf_token=session.csrf_token,
        created_at=session.created_at,
        expires_at=session.expires_at,
        idle_timeout_s=int(policy.idle_timeout.total_seconds()),
        absolute_timeout_s=int(policy.absolute_timeout.total_seconds()),
    )


@api.route("DELETE", "/api/session", role=Role.AGENT, status=204)
async def delete_session(request: web.Request) -> web.StreamResponse:
    """Sign out: end the current session."""
    session = await _session(request)
    await auth_of(request).sessions.revoke_hash(session.token_hash)
    remember_session(request, None)
    log.info("user %d signed out", session.user.id)
    response = web.Response(status=204)
    clear_session_cookie(request, response)
    return response


@api.route("PUT", "/api/me/password", role=Role.AGENT, body=PasswordChange, status=204)
async def change_password(request: web.Request, change: PasswordChange) -> None:
    """Change the signed-in user's password and end their other sessions."""
    session = await _session(request)
    auth = auth_of(request)
    # The current password is a secret to guess, so this is throttled like sign-in.
    address = client_address(request)
    wait = auth.throttle.retry_after(session.user.username, address)
    if wait:
        raise ApiError(429, f"too many attempts, try again in {wait} s")
    matches = await auth.users.check_password(session.user.id, change.current_password)
    auth.throttle.attempted(session.user.username, address, succeeded=matches)
    if not matches:
        log.warning("password change refused for user %d: wrong current password", session.user.id)
        raise ApiError(
            422, "the input is not valid", {"current_password": "is not your current password"}
        )
    await auth.users.set_password(session.user.id, change.new_password)
    ended = await auth.sessions.revoke_user(session.user.id, keep=session.token_hash)
    log.info("user %d changed their password; %d other sessions ended", session.user.id, ended)
