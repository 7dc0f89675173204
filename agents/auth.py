"""Who is asking: the per-app auth services, the session cookie and the current session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from agents.ratelimit import SignInThrottle
from agents.sessions import Session, SessionStore
from agents.users import UserDirectory

SESSION_COOKIE = "sb_session"
# Carries the sign-in form's CSRF token before there is a session to bind it to.
PRESESSION_COOKIE = "sb_presession"


@dataclass(frozen=True)
class Auth:
    """The services every request's authentication needs."""

    users: UserDirectory
    sessions: SessionStore
    throttle: SignInThrottle
    secret_key: bytes
    # Behind a TLS-terminating proxy the app sees plain HTTP; this still marks cookies Secure.
    force_secure_cookies: bool = False


AUTH = web.AppKey("agents.auth", Auth)
_SESSION = web.RequestKey("agents.session", object)
_MISSING = object()


def auth_of(request: web.Request) -> Auth:
    """Return the auth services of the application serving `request`."""
    return request.config_dict[AUTH]


async def current_session(request: web.Request) -> Session | None:
    """Return the signed-in session of this request, or None (loaded once per request)."""
    cached = request.get(_SESSION, _MISSING)
    if cached is not _MISSING:
        return cached if isinstance(cached, Session) else None
    token = request.cookies.get(SESSION_COOKIE)
    session = await auth_of(request).sessions.load(token) if token else None
    request[_SESSION] = session
    return session


async def reload_session(request: web.Request) -> Session | None:
    """Look the request's session up again, for long-lived websockets.

    A websocket outlives the request that opened it: call this on each message or on a timer,
    and close the socket when it returns None (signed out, expired, or user disabled).
    """
    request.pop(_SESSION, None)
    return await current_session(request)


async def reload_sessions(requests: Sequence[web.Request]) -> list[Session | None]:
    """Look many long-lived requests' sessions up again at once (a few queries in all).

    The batched `reload_session`, for a task re-checking every open websocket: the answer is
    in the order of `requests`, and each request's current session is updated too.
    """
    if not requests:
        return []
    tokens = [request.cookies.get(SESSION_COOKIE) for request in requests]
    live = await auth_of(requests[0]).sessions.load_many(t for t in tokens if t)
    answer = [live.get(token) if token else None for token in tokens]
    for request, session in zip(requests, answer, strict=True):
        request[_SESSION] = session
    return answer


def remember_session(request: web.Request, session: Session | None) -> None:
    """Make `session` the request's current session (after sign-in or sign-out)."""
    request[_SESSION] = session


def cookies_secure(request: web.Request) -> bool:
    """Tell whether cookies set on this request's response get the Secure flag."""
    return request.secure or auth_of(request).force_secure_cookies


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """Put the session token in an HttpOnly, SameSite=Lax cookie (Secure under HTTPS)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=cookies_secure(request),
        path="/",
        # The server decides when a session ends; a session cookie also ends with the browser.
        max_age=int(auth_of(request).sessions.policy.absolute_timeout.total_seconds()),
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Remove the session cookie from the browser."""
    response.del_cookie(SESSION_COOKIE, path="/", secure=cookies_secure(request), samesite="Lax")


def _sign(secret: bytes, nonce: str) -> str:
    digest = hmac.new(secret, nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_presession_token(request: web.Request) -> str:
    """Return a fresh signed token for a form shown before sign-in."""
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(auth_of(request).secret_key, nonce)}"


def valid_presession_token(request: web.Request, token: str | None) -> bool:
    """Tell whether `token` is one this app signed."""
    if not token or "." not in token:
        return False
    nonce, _, signature = token.partition(".")
    return hmac.compare_digest(signature, _sign(auth_of(request).secret_key, nonce))


def presession_token(request: web.Request) -> str | None:
    """Return the request's pre-session CSRF token when its cookie holds a valid one."""
    token = request.cookies.get(PRESESSION_COOKIE)
    return token if valid_presession_token(request, token) else None


def set_presession_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """Store the pre-session CSRF token in a strict, HttpOnly cookie."""
    response.set_cookie(
        PRESESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=cookies_secure(request),
        path="/",
    )


def client_address(request: web.Request) -> str:
    """Return the client's address (from a trusted proxy's X-Forwarded-For when configured)."""
    return request.remote or "unknown"
