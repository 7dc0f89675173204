"""`switchboard add-user` and `switchboard serve`, run as a user would run them."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from agents import Role, UserDirectory
from agents.passwords import Passwords
from config.cli import main
from config.database import create_engine

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "example.yaml"


async def authenticate(data_dir: Path, username: str, password: str) -> Role | None:
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}")
    try:
        user = await UserDirectory(engine, Passwords()).authenticate(username, password)
    finally:
        await engine.dispose()
    return None if user is None else user.role


def run_cli(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: io.StringIO) -> int:
    monkeypatch.setattr(sys, "stdin", stdin)
    return main(argv)


async def test_add_user_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["add-user", "Ada", "--role", "agent", "--agent-id", "a-7", "--name", "Ada L"]
    argv += ["--password-stdin", "--data-dir", str(tmp_path)]
    status = await asyncio.to_thread(
        run_cli, monkeypatch, argv, io.StringIO("a good long password\n")
    )
    assert status == 0
    out = capsys.readouterr()
    assert out.out.strip() == "created user ada (agent)"
    assert "a good long password" not in out.out + out.err
    assert await authenticate(tmp_path, "ada", "a good long password") == Role.AGENT


async def test_add_user_refuses_bad_input_with_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--role", "admin", "--password-stdin", "--data-dir", str(tmp_path)]
    ok = await asyncio.to_thread(
        run_cli, monkeypatch, ["add-user", "root", *base], io.StringIO("a good long password\n")
    )
    assert ok == 0
    capsys.readouterr()
    again = await asyncio.to_thread(
        run_cli, monkeypatch, ["add-user", "root", *base], io.StringIO("another password!\n")
    )
    assert again == 1
    assert "add-user: username: is already taken" in capsys.readouterr().err
    short = await asyncio.to_thread(
        run_cli, monkeypatch, ["add-user", "other", *base], io.StringIO("short\n")
    )
    assert short == 1
    assert "password: must be at least 10 characters" in capsys.readouterr().err


def test_add_user_without_terminal_or_stdin_flag_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["add-user", "ada", "--role", "agent", "--data-dir", str(tmp_path)]
    assert run_cli(monkeypatch, argv, io.StringIO("a good long password\n")) == 1
    assert "use --password-stdin" in capsys.readouterr().err


class Terminal(io.StringIO):
    """Standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_add_user_prompts_twice_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["first password!!", "second password!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    argv = ["add-user", "ada", "--role", "agent", "--data-dir", str(tmp_path)]
    assert run_cli(monkeypatch, argv, Terminal()) == 1
    assert "the two passwords differ" in capsys.readouterr().err


def test_add_user_takes_no_password_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as refused:
        run_cli(
            monkeypatch,
            ["add-user", "ada", "--role", "agent", "--password", "in-the-history"],
            io.StringIO(),
        )
    assert refused.value.code == 2


async def test_serve_listens_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "config.cli",
        "serve",
        "--config",
        str(REPO / "config" / "example.yaml"),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert line.startswith("listening on http://127.0.0.1:"), line
        base = line.split()[-1]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {"status": "ok"}
            async with http.get(f"{base}/api/me?ani=%2B441234567890") as response:
                assert response.status == 401
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()
        log = stderr.decode()
        assert "stopping" in log
        assert "GET /healthz 200" in log
        assert "GET /api/me 401" in log
        assert "441234567890" not in log  # no query strings in the access log
        assert (tmp_path / "switchboard.db").exists()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_serve_refuses_bad_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_CRM_REGION", "XX")
    argv = ["serve", "--config", str(EXAMPLE), "--port", "0", "--data-dir", str(tmp_path)]
    assert run_cli(monkeypatch, argv, io.StringIO()) == 2


def test_serve_refuses_a_config_check_config_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text().replace("queues:", "queuez:", 1))
    argv = ["serve", "--config", str(broken), "--port", "0", "--data-dir", str(tmp_path)]
    assert run_cli(monkeypatch, argv, io.StringIO()) == 1
    assert "broken.yaml" in capsys.readouterr().err
    missing = ["serve", "--config", str(tmp_path / "nope.yaml"), "--data-dir", str(tmp_path)]
    assert run_cli(monkeypatch, missing, io.StringIO()) == 2
    assert "cannot read the file" in capsys.readouterr().err
