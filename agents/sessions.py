"""Server-side sign-in sessions in the database, with idle and absolute expiry."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from agents.roles import Role
from agents.tables import sessions, users
from agents.users import User

# 256 bits from the OS CSPRNG: not guessable, and a DB copy holds only its SHA-256.
TOKEN_BYTES = 32


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives without use, and at most."""

    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=12)
    # Writing last_seen on every request would make each page view a DB write; a session's
    # idle expiry is therefore exact to within this interval.
    touch_interval: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Session:
    """A signed-in user's session, as loaded for one request."""

    token_hash: str
    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def hash_token(token: str) -> str:
    """Return the stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything this module writes is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SessionStore:
    """Create, load, expire and revoke sessions."""

    def __init__(
        self,
        engine: AsyncEngine,
        policy: SessionPolicy = SessionPolicy(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self.policy = policy
        self._clock = clock

    def _expires_at(self, created_at: datetime, last_seen_at: datetime) -> datetime:
        return min(
            created_at + self.policy.absolute_timeout, last_seen_at + self.policy.idle_timeout
        )

    async def create(self, user: User) -> tuple[str, Session]:
        """Start a session for `user`; return the cookie token and the session."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        csrf_token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        token_hash = hash_token(token)
        async with self._engine.begin() as conn:
            await conn.execute(
                sessions.insert().values(
                    token_hash=token_hash,
                    user_id=user.id,
                    csrf_token=csrf_token,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return token, Session(
            token_hash=token_hash,
            user=user,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=self._expires_at(now, now),
        )

    async def load(self, token: str) -> Session | None:
        """Return the live session for a cookie token, or None; an expired one is deleted."""
        token_hash = hash_token(token)
        query = (
            sa.select(
                sessions.c.csrf_token,
                sessions.c.created_at,
                sessions.c.last_seen_at,
                users.c.id,
                users.c.username,
                users.c.display_name,
                users.c.role,
                users.c.agent_id,
                users.c.disabled,
            )
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.token_hash == token_hash)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        now = self._clock()
        created_at = _utc(m["created_at"])
        last_seen_at = _utc(m["last_seen_at"])
        if bool(m["disabled"]) or now >= self._expires_at(created_at, last_seen_at):
            await self._delete(token_hash)
            return None
        if now - last_seen_at >= self.policy.touch_interval:
            last_seen_at = now
            async with self._engine.begin() as conn:
                await conn.execute(
                    sessions.update()
                    .where(sessions.c.token_hash == token_hash)
                    .values(last_seen_at=now)
                )
        user = User(
            id=int(m["id"]),
            username=str(m["username"]),
            display_name=str(m["display_name"]),
            role=Role(m["role"]),
            agent_id=None if m["agent_id"] is None else str(m["agent_id"]),
            disabled=False,
        )
        return Session(
            token_hash=token_hash,
            user=user,
            csrf_token=str(m["csrf_token"]),
            created_at=created_at,
            last_seen_at=last_seen_at,
            expires_at=self._expires_at(created_at, last_seen_at),
        )

    async def revoke(self, token: str) -> None:
        """End the session of a cookie token (sign-out)."""
        await self._delete(hash_token(token))

    async def revoke_hash(self, token_hash: str) -> None:
        """End a session known by its stored hash."""
        await self._delete(token_hash)

    async def revoke_user(self, user_id: int, *, keep: str | None = None) -> int:
        """End every session of a user, except the one with hash `keep`; return how many."""
        condition = sessions.c.user_id == user_id
        if keep is not None:
            condition = sa.and_(condition, sessions.c.token_hash != keep)
        async with self._engine.begin() as conn:
            result = await conn.execute(sessions.delete().where(condition))
        return int(result.rowcount)

    async def purge_expired(self) -> int:
        """Delete every session past its idle or absolute expiry; return how many."""
        now = self._clock()
        condition = sa.or_(
            sessions.c.last_seen_at <= now - self.policy.idle_timeout,
            sessions.c.created_at <= now - self.policy.absolute_timeout,
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(sessions.delete().where(condition))
        return int(result.rowcount)

    async def _delete(self, token_hash: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))
