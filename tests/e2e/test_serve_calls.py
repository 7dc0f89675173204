"""`switchboard serve` with telephony: SIGTERM refuses new calls, lets the call in progress end.

A real process on the example config, a sipp phone registered for one agent, the agent Ready
through the console API, a sipp caller talking when the signal comes; then a new caller gets
503, the call in progress finishes normally, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import yaml

import agents
from agents.passwords import Passwords
from board.eventlog import read_records
from config.database import create_engine, upgrade
from demo.traffic import Caller, TrafficGenerator, TrafficPlan
from telephony.sip.transport import Peer
from tests.e2e.centre import USER_PASSWORD, Browserless
from tests.ports import free_media_port, free_port
from tests.telephony.calls.harness import audio_files, passed, scenario
from tests.telephony.conftest import finish_sipp, start_sipp

REPO = Path(__file__).resolve().parents[2]
VIP_LINE = "+441632960300"  # open around the clock in the example config
PHONE_PASSWORD = "phone secret 1009"


async def add_agent_user(data_dir: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}")
    try:
        await upgrade(engine, agents.MIGRATIONS_DIR, agents.VERSION_TABLE)
        directory = agents.UserDirectory(engine, Passwords())
        await directory.create("ines", USER_PASSWORD, agents.Role.AGENT, agent_id="ines.moreau")
    finally:
        await engine.dispose()


async def test_sigterm_refuses_new_calls_and_lets_the_call_in_progress_finish(
    tmp_path: Path,
) -> None:
    await add_agent_user(tmp_path)
    credentials = tmp_path / "phones.yaml"
    credentials.write_text(yaml.safe_dump({"1009": {"password": PHONE_PASSWORD}}))
    sip_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env |= {
        "SWITCHBOARD_SIP_CREDENTIALS_FILE": str(credentials),
        "SWITCHBOARD_SIP_PORT": str(sip_port),
        "SWITCHBOARD_SHUTDOWN_GRACE_S": "30",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "config.cli", "serve",
        "--config", str(REPO / "config" / "example.yaml"),
        "--port", "0", "--data-dir", str(tmp_path),
        cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    console = None
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert line.startswith("listening on http://"), line
        url = line.split()[-1]
        audio = audio_files(tmp_path)
        phone_port = free_port()
        register = tmp_path / "register"
        register.mkdir()
        args = [f"127.0.0.1:{sip_port}", "-sf", scenario("register_agent.xml", register)]
        args += ["-s", "1009", "-au", "1009", "-ap", PHONE_PASSWORD, "-m", "1"]
        args += ["-t", "u1", "-i", "127.0.0.1", "-p", str(phone_port)]
        await passed((await start_sipp(args, register), register))
        phone_dir = tmp_path / "phone"
        phone_dir.mkdir()
        args = ["-sf", scenario("agent_answers.xml", phone_dir, **audio), "-s", "1009"]
        args += ["-m", "1", "-t", "u1", "-i", "127.0.0.1", "-p", str(phone_port)]
        args += ["-mp", str(free_media_port())]
        phone = await start_sipp(args, phone_dir)

        console = Browserless(url, "ines")
        await console.open("/agent/console/ws")
        status, _ = await console.api("PUT", "/api/console/state", {"state": "ready"})
        assert status == 200
        caller_dir = tmp_path / "caller"
        caller_dir.mkdir()
        (caller_dir / "callers.csv").write_text("SEQUENTIAL\nC-1;\n")
        # A longer talk than the scenario's 2.5 s, so the signal surely comes mid-call.
        path = scenario(
            "caller_hangs_up.xml", caller_dir, **audio,
            **{'milliseconds="2500"': 'milliseconds="4000"'},
        )  # fmt: skip
        args = [f"127.0.0.1:{sip_port}", "-sf", path, "-s", VIP_LINE, "-m", "1"]
        args += ["-inf", str(caller_dir / "callers.csv"), "-t", "u1", "-i", "127.0.0.1"]
        args += ["-p", str(free_port()), "-mp", str(free_media_port())]
        caller = await start_sipp(args, caller_dir)
        await console.wait_for(lambda f: f.get("kind") == "state" and f["state"] == "on_call")

        process.send_signal(signal.SIGTERM)
        # A caller after the signal is turned away; the call in progress goes on.
        late = TrafficPlan(
            target=Peer("UDP", "127.0.0.1", sip_port),
            dialled=[VIP_LINE],
            callers={"standard": [Caller("standard", "+447700900123")]},
            mix={"standard": 1.0},
        )
        assert process.stderr is not None
        while b"stopping on SIGTERM" not in await process.stderr.readline():
            pass
        stats = await asyncio.wait_for(TrafficGenerator(late).run(1), 30)
        assert dict(stats.refused) == {503: 1}
        assert (await finish_sipp(caller, caller_dir)).returncode == 0  # talked, hung up
        assert (await finish_sipp(phone, phone_dir)).returncode == 0
        rest = await asyncio.wait_for(process.stderr.read(), 60)
        await process.wait()
        assert process.returncode == 0, rest.decode()
        log = rest.decode()
        assert "Traceback" not in log
        assert log.rstrip().endswith("stopped")
        # The call that ended during the drain is in the event log: flushed before the exit.
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}")
        try:
            records = await read_records(engine, 0, 2**40)
        finally:
            await engine.dispose()
        finished = [r for r in records if r.kind == "call_finished"]
        assert [r.agent_id for r in finished] == ["ines.moreau"]
    finally:
        if console is not None:
            await console.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
