"""`switchboard demo`: the store it prepares, the callers it picks, and the process it runs."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import yaml

import agents
import crm_bridge.app
from agents import Role, UserDirectory
from agents.passwords import Passwords
from config.command_io import read_config
from config.commands.demo import demo_callers, demo_users
from config.database import create_engine, upgrade
from config.schema import ContactCentreConfig
from crm_bridge.interface import LookupStatus, ValueTier
from crm_bridge.seed import seed_demo
from crm_bridge.sql_store import SqlDirectory
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "example.yaml"


async def test_callers_are_vip_standard_and_unknown_as_the_store_says(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    try:
        await upgrade(engine, crm_bridge.app.MIGRATIONS_DIR, crm_bridge.app.VERSION_TABLE)
        await seed_demo(engine, 300, 5, datetime(2026, 1, 1, tzinfo=UTC), region="GB")
        callers = await demo_callers(engine, "GB", random.Random(1))
        directory = SqlDirectory(engine, default_region="GB")
        assert all(callers[kind] for kind in ("vip", "standard", "unknown"))
        for caller in callers["vip"][:20]:
            found = await directory.lookup(caller.ani, caller.customer_hint)
            tiers = [c.tier for c in ([found.customer] if found.customer else found.candidates)]
            assert found.status is not LookupStatus.UNKNOWN
            assert {ValueTier.GOLD, ValueTier.PLATINUM} & set(tiers), caller
        for caller in callers["unknown"][:20]:
            found = await directory.lookup(caller.ani)
            assert found.status is LookupStatus.UNKNOWN
            assert found.number == caller.ani  # a real number of the region, in E.164
        hinted = [caller for caller in callers["vip"] if caller.customer_hint]
        assert hinted and all(str(caller.customer_hint).isdigit() for caller in hinted)
        await directory.close()
    finally:
        await engine.dispose()


async def test_demo_users_are_created_then_given_fresh_passwords(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'users.db'}")
    try:
        await upgrade(engine, agents.MIGRATIONS_DIR, agents.VERSION_TABLE)
        first = await demo_users(engine, "liam.oconnor")
        again = await demo_users(engine, "liam.oconnor")
        directory = UserDirectory(engine, Passwords())
        for old, new in zip(first, again, strict=True):
            assert old.password != new.password
            assert await directory.authenticate(old.username, old.password) is None
            user = await directory.authenticate(new.username, new.password)
            assert user is not None and user.role is new.role
        agent = await directory.by_username("agent")
        assert agent is not None and agent.agent_id == "liam.oconnor"
        assert {login.role for login in again} == set(Role)
    finally:
        await engine.dispose()


async def test_demo_runs_prints_logins_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_SHUTDOWN_GRACE_S"] = "2"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "config.cli",
        "demo",
        "--data-dir",
        str(tmp_path),
        "--port",
        "0",
        "--sip-port",
        str(free_port()),
        "--customers",
        "200",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not (lines and lines[-1].startswith("listening on")):
            raw = await asyncio.wait_for(process.stdout.readline(), 60)
            assert raw, "demo ended before listening"
            lines.append(raw.decode().strip())
        assert "seeded 200 demo customers" in lines
        # Every agent of the example config has a softphone; all but the human's are Ready.
        assert "demo: 12 softphones registered" in lines
        assert "demo: 11 simulated agents Ready" in lines
        logins = {
            parts[1]: parts[3]
            for parts in (line.split() for line in lines)
            if parts and parts[0] in {"agent", "supervisor", "admin"}
        }
        assert set(logins) == {"agent", "supervisor", "admin"}
        base = lines[-1].split()[-1]
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as response:
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()
        assert "calls placed" in stdout.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}")
    try:
        directory = UserDirectory(engine, Passwords())
        for username, password in logins.items():
            assert await directory.authenticate(username, password) is not None
    finally:
        await engine.dispose()
    # The softphones' secrets: one per agent of the config, readable by the owner only.
    phones = tmp_path / "demo-phones.yaml"
    assert stat.S_IMODE(phones.stat().st_mode) == 0o600
    config = read_config(str(EXAMPLE))
    assert isinstance(config, ContactCentreConfig)
    secrets = yaml.safe_load(phones.read_text())
    assert set(secrets) == {str(agent.sip_username) for agent in config.agents.values()}
