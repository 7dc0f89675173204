"""Server-side sign-in sessions in the database, with idle and absolute expiry."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from agents.roles import Role
from agents.tables import sessions, users
from agents.users import USER_COLUMNS, User

log = logging.getLogger(__name__)

# 256 bits from the OS CSPRNG: not guessable, and a DB copy holds only its SHA-256.
TOKEN_BYTES = 32
# Rows per statement when loading or touching many sessions: under SQLite's bound-variable
# limit, and short write transactions so other writers are not kept waiting.
BATCH = 500


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
        # Session uses not yet written (token hash -> when), and the task writing them.
        self._touches: dict[str, datetime] = {}
        # The latest use of each session noted by this process; kept until the session
        # would be idle since (then it can no longer extend it), see purge_expired.
        self._noted: dict[str, datetime] = {}
        self._writer: asyncio.Task[None] | None = None

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

    def _query(self) -> sa.Select[Any]:
        return sa.select(
            sessions.c.token_hash,
            sessions.c.csrf_token,
            sessions.c.created_at,
            sessions.c.last_seen_at,
            *USER_COLUMNS,
        ).join(users, users.c.id == sessions.c.user_id)

    async def load(self, token: str) -> Session | None:
        """Return the live session for a cookie token, or None; an expired one is deleted."""
        token_hash = hash_token(token)
        query = self._query().where(sessions.c.token_hash == token_hash)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        session = self._live(row._mapping, self._clock())
        if session is None:
            await self._delete(token_hash)
        return session

    async def load_many(self, tokens: Iterable[str]) -> dict[str, Session]:
        """Return the live sessions of many cookie tokens (by token), a few queries in all.

        For long-lived connections re-checked together. A token missing from the answer has
        no live session; expired rows are left to `purge_expired` rather than deleted here.
        """
        by_hash = {hash_token(token): token for token in tokens}
        hashes = list(by_hash)
        found: dict[str, Session] = {}
        for start in range(0, len(hashes), BATCH):
            query = self._query().where(sessions.c.token_hash.in_(hashes[start : start + BATCH]))
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            now = self._clock()
            for row in rows:
                session = self._live(row._mapping, now)
                if session is not None:
                    found[by_hash[session.token_hash]] = session
        return found

    def _live(self, m: sa.RowMapping, now: datetime) -> Session | None:
        """Build the session of a row, or None when it is over; note its use."""
        token_hash = str(m["token_hash"])
        created_at = _utc(m["created_at"])
        last_seen_at = _utc(m["last_seen_at"])
        # A use noted here counts even when the row does not show it yet: not yet written,
        # or written after this read began.
        noted = self._noted.get(token_hash)
        if noted is not None and noted > last_seen_at:
            last_seen_at = noted
        if bool(m["disabled"]) or now >= self._expires_at(created_at, last_seen_at):
            return None
        if now - last_seen_at >= self.policy.touch_interval:
            last_seen_at = now
            self._touch(token_hash, now)
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

    def _touch(self, token_hash: str, now: datetime) -> None:
        # The request never waits for this write: one task writes the touches in batches,
        # so a burst of sign-ins or console handshakes costs a few short transactions, not a
        # queue of single-row writers fighting for SQLite's one write lock.
        self._touches[token_hash] = self._noted[token_hash] = now
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_touches(), name="agents-session-touches"
            )

    async def _write_touches(self) -> None:
        statement = (
            sessions.update()
            .where(sessions.c.token_hash == sa.bindparam("touched_hash"))
            .where(sessions.c.last_seen_at < sa.bindparam("touched_at"))
            .values(last_seen_at=sa.bindparam("touched_at"))
        )
        while self._touches:
            batch, self._touches = self._touches, {}
            items = [{"touched_hash": h, "touched_at": t} for h, t in batch.items()]
            try:
                for start in range(0, len(items), BATCH):
                    async with self._engine.begin() as conn:
                        await conn.execute(statement, items[start : start + BATCH])
            except Exception:
                # Kept in memory (this process still counts the use) and written with the
                # next touch; until then the idle expiry seen by other processes is older.
                log.warning("could not write %d sessions' last use", len(batch), exc_info=True)
                for token_hash, when in batch.items():
                    self._touches.setdefault(token_hash, when)
                return

    async def flush(self) -> None:
        """Wait until every session use noted so far is written (at shutdown, in tests)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

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
        # Notes that can no longer keep a session alive (idle since) are dropped.
        idle_since = now - self.policy.idle_timeout
        for token_hash in [h for h, when in self._noted.items() if when <= idle_since]:
            del self._noted[token_hash]
        return int(result.rowcount)

    async def _delete(self, token_hash: str) -> None:
        self._touches.pop(token_hash, None)
        self._noted.pop(token_hash, None)
        async with self._engine.begin() as conn:
            await conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))
