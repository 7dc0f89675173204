"""The user directory: create users, find them and check their passwords."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from agents.passwords import Passwords, password_problem
from agents.roles import Role
from agents.tables import users

log = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
AGENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class User:
    """Someone who signs in."""

    id: int
    username: str
    display_name: str
    role: Role
    agent_id: str | None
    disabled: bool


class UserError(ValueError):
    """A user cannot be created as asked; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def normalise_username(username: str) -> str:
    """Return the username as it is stored: trimmed and lower-case."""
    return username.strip().lower()


def _user(mapping: sa.RowMapping) -> User:
    return User(
        id=int(mapping["id"]),
        username=str(mapping["username"]),
        display_name=str(mapping["display_name"]),
        role=Role(mapping["role"]),
        agent_id=None if mapping["agent_id"] is None else str(mapping["agent_id"]),
        disabled=bool(mapping["disabled"]),
    )


# The columns `_user` reads, for every query (here and in sessions) that builds a User.
USER_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.role,
    users.c.agent_id,
    users.c.disabled,
)


class UserDirectory:
    """Users in the database, with their argon2 password hashes."""

    def __init__(
        self,
        engine: AsyncEngine,
        passwords: Passwords,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._passwords = passwords
        self._clock = clock

    async def create(
        self,
        username: str,
        password: str,
        role: Role,
        *,
        display_name: str | None = None,
        agent_id: str | None = None,
    ) -> User:
        """Create a user; raise UserError naming the field when the input is not acceptable."""
        name = normalise_username(username)
        if not USERNAME_PATTERN.fullmatch(name):
            raise UserError(
                "username",
                "use 1-64 letters, digits, '.', '_' or '-', starting with one of the first two",
            )
        if agent_id is not None and not AGENT_ID_PATTERN.fullmatch(agent_id):
            raise UserError("agent_id", "use 1-64 letters, digits, '.', '_' or '-'")
        shown = (display_name if display_name is not None else name).strip()
        if not shown or len(shown) > 200:
            raise UserError("display_name", "must be 1-200 characters")
        problem = password_problem(password)
        if problem:
            raise UserError("password", problem)
        # argon2 takes tens of milliseconds of CPU: off the event loop, so other requests go on.
        encoded = await asyncio.to_thread(self._passwords.hash, password)
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    users.insert()
                    .values(
                        username=name,
                        display_name=shown,
                        role=role.value,
                        agent_id=agent_id,
                        password_hash=encoded,
                        disabled=False,
                        created_at=self._clock(),
                    )
                    .returning(*USER_COLUMNS)
                )
                return _user(result.one()._mapping)
        except IntegrityError as exc:
            field = (
                "agent_id"
                if agent_id is not None and await self._agent_id_taken(agent_id)
                else "username"
            )
            raise UserError(field, "is already taken") from exc

    async def _agent_id_taken(self, agent_id: str) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(sa.select(users.c.id).where(users.c.agent_id == agent_id))
        return found is not None

    async def by_id(self, user_id: int) -> User | None:
        """Return the user with this id, or None."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(*USER_COLUMNS).where(users.c.id == user_id))
            ).first()
        return None if row is None else _user(row._mapping)

    async def by_username(self, username: str) -> User | None:
        """Return the user with this username, or None."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(*USER_COLUMNS).where(users.c.username == normalise_username(username))
                )
            ).first()
        return None if row is None else _user(row._mapping)

    async def authenticate(self, username: str, password: str) -> User | None:
        """Return the enabled user whose password this is, or None; rehash old hashes."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(*USER_COLUMNS, users.c.password_hash).where(
                        users.c.username == normalise_username(username)
                    )
                )
            ).first()
        encoded = None if row is None else str(row._mapping["password_hash"])
        matches = await asyncio.to_thread(self._passwords.verify, encoded, password)
        if not matches or row is None or encoded is None:
            return None
        user = _user(row._mapping)
        if user.disabled:
            return None
        if self._passwords.needs_rehash(encoded):
            await self.set_password(user.id, password)
            log.info("rehashed the password of user %d with the current parameters", user.id)
        return user

    async def set_password(self, user_id: int, password: str) -> None:
        """Replace a user's password; raise UserError when it is not acceptable."""
        problem = password_problem(password)
        if problem:
            raise UserError("password", problem)
        encoded = await asyncio.to_thread(self._passwords.hash, password)
        async with self._engine.begin() as conn:
            await conn.execute(
                users.update().where(users.c.id == user_id).values(password_hash=encoded)
            )

    async def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (or enable again) a user; a disabled user's sessions stop working at once."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                users.update()
                .where(users.c.username == normalise_username(username))
                .values(disabled=disabled)
            )
        return bool(result.rowcount)

    async def check_password(self, user_id: int, password: str) -> bool:
        """Tell whether `password` is the current password of this user."""
        async with self._engine.connect() as conn:
            encoded = await conn.scalar(
                sa.select(users.c.password_hash).where(users.c.id == user_id)
            )
        stored = None if encoded is None else str(encoded)
        return await asyncio.to_thread(self._passwords.verify, stored, password) and bool(stored)
