"""Recordings over HTTP: supervisors get the WAV, agents and strangers do not."""

from __future__ import annotations

import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from board.recordings import recording_ref, setup_recordings
from tests.board.app import add_users, build_board_app
from tests.web.support import sign_in

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]


def write_wav(path: Path) -> bytes:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(range(256)) * 64)
    return path.read_bytes()


@pytest.fixture
async def client(tmp_path: Path, aiohttp_client: ClientFactory) -> tuple[Client, bytes]:
    world = build_board_app(tmp_path / "board.db")
    content = write_wav(tmp_path / "sb-1.wav")
    asked: list[str] = []

    async def find(call_id: str) -> Path | None:
        asked.append(call_id)
        return tmp_path / "sb-1.wav" if call_id == "sb-1" else None

    setup_recordings(world.app, find)
    test_client = await aiohttp_client(world.app)
    await add_users(world.app)
    return test_client, content


async def test_a_supervisor_gets_the_recording_uncached(client: tuple[Client, bytes]) -> None:
    http, content = client
    await sign_in(http, "sam")
    response = await http.get(recording_ref("sb-1"))
    assert response.status == 200
    assert await response.read() == content
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.headers["Cache-Control"] == "no-store"


async def test_an_agent_and_a_stranger_are_refused(client: tuple[Client, bytes]) -> None:
    http, _ = client
    anonymous = await http.get(recording_ref("sb-1"), allow_redirects=False)
    assert anonymous.status in (302, 303, 401)
    assert await anonymous.read() != client[1]
    await sign_in(http, "ada")
    refused = await http.get(recording_ref("sb-1"), allow_redirects=False)
    assert refused.status == 403


@pytest.mark.parametrize(("path", "status"), [("sb-2", 404), ("..%2Fboard.db", 400)])
async def test_unknown_and_malformed_call_ids(
    client: tuple[Client, bytes], path: str, status: int
) -> None:
    http, _ = client
    await sign_in(http, "sam")
    response = await http.get(f"/recordings/{path}.wav")
    assert response.status == status


def test_the_reference_names_the_page_and_quotes_the_id() -> None:
    assert recording_ref("sb-1") == "/recordings/sb-1.wav"
    assert recording_ref("a/b") == "/recordings/a%2Fb.wav"
