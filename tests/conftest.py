"""Shared fixtures: the real services the tests talk to, and the hypothesis profile."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.support import require_port

# No deadlines: this machine is shared and noisy, and tests never assert wall-clock timings.
settings.register_profile("switchboard", deadline=None, print_blob=True)
settings.load_profile("switchboard")


@pytest.fixture
def postgres_url() -> str:
    """The URL of the local PostgreSQL test database (asyncpg)."""
    require_port("127.0.0.1", 5432, "PostgreSQL")
    return os.environ.get(
        "SWITCHBOARD_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )


@pytest.fixture
def redis_url() -> str:
    """The URL of the local Redis server."""
    require_port("127.0.0.1", 6379, "Redis")
    return os.environ.get("SWITCHBOARD_TEST_REDIS", "redis://127.0.0.1:6379/15")
