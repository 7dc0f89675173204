"""Saved config versions: who saved what and when, with the diff, kept in the database."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from admin.tables import config_versions

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ConfigVersion:
    """One saved version of the whole routing config."""

    id: int
    created_at: datetime
    author: str
    summary: str
    document: str
    diff: str
    restored_from: int | None


def unified_diff(before: str, after: str, before_name: str, after_name: str) -> str:
    """Return the line diff between two YAML documents (empty when they are equal)."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=before_name,
            tofile=after_name,
        )
    )


def _version(row: sa.Row[tuple[object, ...]]) -> ConfigVersion:
    created = row.created_at
    # SQLite hands timezone-aware datetimes back naive; they were written in UTC.
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return ConfigVersion(
        id=row.id,
        created_at=created,
        author=row.author,
        summary=row.summary,
        document=row.document,
        diff=row.diff,
        restored_from=row.restored_from,
    )


class VersionStore:
    """Append and read config versions; a version is never changed once saved."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def engine(self) -> AsyncEngine:
        """Return the database engine, to open the transaction `append` runs in."""
        return self._engine

    async def latest(self) -> ConfigVersion | None:
        """Return the newest version, or None before the first save."""
        query = sa.select(config_versions).order_by(config_versions.c.id.desc()).limit(1)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _version(row)

    async def get(self, version_id: int) -> ConfigVersion | None:
        """Return one version by id, or None if there is none."""
        query = sa.select(config_versions).where(config_versions.c.id == version_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _version(row)

    async def history(self, limit: int = 100) -> list[ConfigVersion]:
        """Return the newest `limit` versions, newest first."""
        query = sa.select(config_versions).order_by(config_versions.c.id.desc()).limit(limit)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_version(row) for row in rows]

    async def append(
        self,
        connection: AsyncConnection,
        *,
        author: str,
        summary: str,
        document: str,
        restored_from: int | None = None,
    ) -> ConfigVersion:
        """Add a version inside the caller's transaction (so it can roll back with it)."""
        query = sa.select(config_versions).order_by(config_versions.c.id.desc()).limit(1)
        row = (await connection.execute(query)).first()
        previous = None if row is None else _version(row)
        diff = (
            ""
            if previous is None
            else unified_diff(previous.document, document, f"version {previous.id}", "this version")
        )
        created_at = self._clock()
        result = await connection.execute(
            config_versions.insert().values(
                created_at=created_at,
                author=author,
                summary=summary[:300],
                document=document,
                diff=diff,
                restored_from=restored_from,
            )
        )
        (version_id,) = result.inserted_primary_key or (None,)
        assert isinstance(version_id, int)
        return ConfigVersion(
            version_id, created_at, author, summary[:300], document, diff, restored_from
        )
