"""The user directory: creating users, refusing bad ones, rehashing on sign-in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient

from agents import Role, UserDirectory, UserError
from agents.passwords import HashParameters, Passwords
from agents.tables import users
from tests.web.support import CHEAP_HASHING, PASSWORD, World

Client = TestClient[web.Request, web.Application]


async def stored_hash(world: World, username: str) -> str:
    async with world.engine.connect() as conn:
        value = await conn.scalar(
            sa.select(users.c.password_hash).where(users.c.username == username)
        )
    return str(value)


async def test_user_is_stored_normalised_with_an_argon2_hash(client: Client, world: World) -> None:
    user = await world.auth.users.create("  Eve.Example ", PASSWORD, Role.SUPERVISOR)
    assert user.username == "eve.example"
    assert user.display_name == "eve.example"
    assert (await world.auth.users.by_username("EVE.example")) == user
    assert (await world.auth.users.by_id(user.id)) == user
    encoded = await stored_hash(world, "eve.example")
    assert encoded.startswith("$argon2id$")
    assert PASSWORD not in encoded


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "has space"}, "username"),
        ({"username": ""}, "username"),
        ({"username": "-leading"}, "username"),
        ({"password": "short"}, "password"),
        ({"agent_id": "bad id!"}, "agent_id"),
        ({"display_name": "   "}, "display_name"),
        ({"username": "ada"}, "username"),  # taken by the fixture
        ({"agent_id": "a-1"}, "agent_id"),  # taken by ada
    ],
)
async def test_bad_users_are_refused_naming_the_field(
    client: Client, world: World, kwargs: dict[str, str], field: str
) -> None:
    values = {"username": "newbie", "password": PASSWORD, **kwargs}
    with pytest.raises(UserError) as refused:
        await world.auth.users.create(
            values["username"],
            values["password"],
            Role.AGENT,
            display_name=values.get("display_name"),
            agent_id=values.get("agent_id"),
        )
    assert refused.value.field == field


async def test_sign_in_rehashes_when_the_parameters_change(client: Client, world: World) -> None:
    before = await stored_hash(world, "ada")
    same = UserDirectory(world.engine, Passwords(CHEAP_HASHING))
    assert await same.authenticate("ada", PASSWORD) is not None
    assert await stored_hash(world, "ada") == before

    stronger = HashParameters(time_cost=2, memory_cost_kib=16, parallelism=1)
    upgraded = UserDirectory(world.engine, Passwords(stronger))
    assert await upgraded.authenticate("ada", PASSWORD) is not None
    after = await stored_hash(world, "ada")
    assert after != before
    assert "m=16,t=2,p=1" in after
    assert await upgraded.authenticate("ada", PASSWORD) is not None


async def test_wrong_password_changes_nothing(client: Client, world: World) -> None:
    before = await stored_hash(world, "ada")
    stronger = UserDirectory(
        world.engine, Passwords(HashParameters(time_cost=2, memory_cost_kib=16, parallelism=1))
    )
    assert await stronger.authenticate("ada", "not the password") is None
    assert await stored_hash(world, "ada") == before
