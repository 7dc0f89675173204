"""The PBX-extension ingress through the whole app: sipp as the PBX, a registered sipp agent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import ValidationError

from config.app import create_app
from config.routing import ROUTING
from config.settings import Settings, load_settings
from recording import RECORDINGS
from router import CallDequeued, CallFinished, Event, Offer, Outcome
from telephony.calls import SIP_ENDPOINT
from telephony.calls.pbx_ingress import PBX_EXTENSION
from tests.config.helpers import EXAMPLE
from tests.ports import free_media_port, free_port
from tests.recording.audio import dominant, read_wav
from tests.telephony.calls.harness import (
    AGENT_TONE,
    CALLER_TONE,
    audio_files,
    ok,
    passed,
    scenario,
)
from tests.telephony.calls.test_pbx_ingress import pbx
from tests.telephony.calls.test_sipp_calls import TONES, loud_blocks
from tests.telephony.conftest import WAIT, finish_sipp, start_sipp
from tests.telephony.media.sipp import finished

# pyVoIP's transmitter thread warns when a send races with the socket closing at hang-up.
pytestmark = pytest.mark.filterwarnings("ignore:RTP Packet failed to send:RuntimeWarning")

PHONE_PASSWORD = "phone-secret-1010"
JAKUB = ("jakub.nowak", "1010")  # in vip_care, SIP user 1010 in the example config
VIP_LINE = "+441632960300"


def pbx_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings with telephony on and the PBX extension pointed at 127.0.0.1."""
    credentials = tmp_path / "phones.yaml"
    credentials.write_text(f'"1010": {{password: "{PHONE_PASSWORD}"}}\n', encoding="utf-8")
    rtp = free_port()
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "config_file": EXAMPLE,
        "sip_port": 0,
        "sip_credentials_file": credentials,
        "pbx_host": "127.0.0.1",
        "pbx_extension": "switchboard",
        "pbx_password": "secret",
        "pbx_sip_port": free_port(),
        "pbx_rtp_first": rtp,
        "pbx_rtp_last": rtp,
        "pbx_route_number": VIP_LINE,
    }
    values.update(overrides)
    return Settings.model_validate(values)


async def test_a_pbx_call_to_the_extension_reaches_a_registered_agent(tmp_path: Path) -> None:
    # The PBX calls as soon as the extension registers (at startup), then hangs up after 4 s;
    # the call waits in vip_care with ringback until the agent registers and is ready.
    async with pbx(tmp_path, "pbx_calls_then_hangs_up.xml", seconds=6, hang_up_after_ms=4000) as (
        pbx_port,
        process,
        pbx_dir,
    ):
        app = create_app(pbx_settings(tmp_path, pbx_port=pbx_port))
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            assert PBX_EXTENSION in app
            routing = app[ROUTING]
            seen: list[Event] = []
            done = asyncio.Event()

            def follow(batch: Sequence[Event]) -> None:
                seen.extend(batch)
                if any(isinstance(e, CallFinished) for e in batch):
                    done.set()

            routing.runtime.subscribe(follow)
            port = app[SIP_ENDPOINT].port
            phone_port = free_port()
            register_dir = tmp_path / "register"
            register_dir.mkdir()
            args = [f"127.0.0.1:{port}", "-sf", scenario("register_agent.xml", register_dir)]
            args += ["-s", JAKUB[1], "-au", JAKUB[1], "-ap", PHONE_PASSWORD, "-m", "1"]
            args += ["-t", "u1", "-i", "127.0.0.1", "-p", str(phone_port)]
            ok(await finish_sipp(await start_sipp(args, register_dir), register_dir))

            agent_dir = tmp_path / "agent"
            agent_dir.mkdir()
            audio = audio_files(agent_dir)
            args = ["-sf", scenario("agent_answers.xml", agent_dir, **audio)]
            args += ["-s", JAKUB[1], "-m", "1", "-t", "u1", "-i", "127.0.0.1"]
            args += ["-p", str(phone_port), "-mp", str(free_media_port())]
            agent = (await start_sipp(args, agent_dir), agent_dir)
            routing.runtime.act(lambda now: routing.engine.agent_login(JAKUB[0], now))
            routing.runtime.act(lambda now: routing.engine.agent_ready(JAKUB[0], now))

            # The agent's scenario passes only if Switchboard sends it the PBX's hang-up.
            await passed(agent)
            await asyncio.wait_for(done.wait(), WAIT)
            [offer] = [e for e in seen if isinstance(e, Offer)]
            assert (offer.agent_id, offer.queue_id) == (JAKUB[0], "vip_care")
            dequeued = [e for e in seen if isinstance(e, CallDequeued)]
            assert [(e.call_id, e.outcome) for e in dequeued] == [(offer.call_id, Outcome.ANSWERED)]
            assert [e for e in seen if isinstance(e, CallFinished)] == [
                CallFinished(offer.call_id, JAKUB[0])
            ]
            recording = await app[RECORDINGS].get(offer.call_id)
            assert recording is not None
        finally:
            await runner.cleanup()
        # The cleanup stopped the extension, which deregistered: the PBX scenario's end.
        await finished(process, "PBX", pbx_dir)
    # The PBX's tone reached the recording's caller side through the extension and the relay.
    _, left, right = read_wav(recording.path)
    for channel, frequency in ((left, CALLER_TONE), (right, AGENT_TONE)):
        loud = loud_blocks(channel)
        assert len(loud) >= 25, f"{frequency} Hz: {len(loud)} loud blocks"
        start = loud[0] * 160
        assert dominant(channel[start : start + 8000], TONES) == frequency


def test_pbx_settings_come_from_the_environment_and_hide_the_password() -> None:
    settings = load_settings(
        {
            "SWITCHBOARD_PBX_HOST": "pbx.example.net",
            "SWITCHBOARD_PBX_EXTENSION": "4711",
            "SWITCHBOARD_PBX_PASSWORD": "pbx-secret-value",
            "SWITCHBOARD_PBX_ROUTE_NUMBER": VIP_LINE,
            "SWITCHBOARD_PBX_SIP_PORT": "5080",
        }
    )
    assert (settings.pbx_host, settings.pbx_port, settings.pbx_sip_port) == (
        "pbx.example.net",
        5060,
        5080,
    )
    assert settings.pbx_password == "pbx-secret-value"
    assert "pbx-secret-value" not in repr(settings)
    assert "pbx-secret-value" not in str(settings)


def test_the_pbx_extension_cannot_share_the_sip_listeners_port() -> None:
    with pytest.raises(ValidationError, match=r"pbx_sip_port \(5060\) must differ from sip_port"):
        Settings(
            pbx_host="pbx.example.net",
            pbx_extension="4711",
            pbx_route_number=VIP_LINE,
            sip_port=5060,
            pbx_sip_port=5060,
        )


@pytest.mark.parametrize("missing", ["pbx_extension", "pbx_route_number"])
def test_a_pbx_needs_its_extension_and_route_number(missing: str) -> None:
    values = {"pbx_host": "pbx.example.net", "pbx_extension": "4711", "pbx_route_number": VIP_LINE}
    del values[missing]
    with pytest.raises(ValidationError, match=f"{missing} is required when pbx_host is set"):
        Settings.model_validate(values)


def test_without_pbx_host_the_pbx_settings_are_not_checked() -> None:
    assert Settings(pbx_sip_port=5060).pbx_host == ""


def test_a_pbx_route_number_no_route_has_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"pbx_route_number '\+449999' is not the dnis of a route"):
        create_app(pbx_settings(tmp_path, pbx_port=free_port(), pbx_route_number="+449999"))


def test_a_pbx_without_telephony_stops_the_start(tmp_path: Path) -> None:
    settings = pbx_settings(tmp_path, pbx_port=free_port(), sip_credentials_file=None)
    with pytest.raises(ValueError, match="pbx_host is set but sip_credentials_file is not"):
        create_app(settings)
