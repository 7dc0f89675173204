"""The VIP call end to end with the agent in real Chromium and the callers and phone in sipp.

A standard caller waits; a VIP calls later. The agent clicks Ready in the browser: the VIP is
offered first, the pop (the VIP's record) is on screen before the agent's phone answers, the
call is bridged and recorded, and the wrap-up the agent submits in the page lands in the
customer's history.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from board.recordings import recording_ref
from crm_bridge.app import CUSTOMER_DIRECTORY
from crm_bridge.interface import NewCustomer
from router import CallQueued, Offer
from router.events import CallDequeued, Outcome
from tests.agents.support import add_vip, store_of
from tests.e2e.centre import DIALLED, USER_PASSWORD, Browserless, call_centre
from tests.telephony.calls.harness import Phones, closed, passed

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Wait up to 15 s (not playwright's 5 s): the machine is shared and busy."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


async def test_vip_first_popped_before_the_answer_recorded_and_in_the_history(
    page: Page, console_messages: list[ConsoleMessage], tmp_path: Path
) -> None:
    sales = {"offer_timeout_s": 10.0, "wrap_up_s": 60.0}
    async with call_centre(tmp_path, sales, {"a1": "alice"}) as centre:
        directory = centre.app[CUSTOMER_DIRECTORY]
        vip = await add_vip(directory)
        standard = await store_of(directory).create_customer(
            NewCustomer(name="Sam Standard", numbers=("+44 20 7946 0555",))
        )
        await page.goto(f"{centre.url}/signin?next=/agent/console")
        await page.get_by_label("Username").fill("a1")
        await page.get_by_label("Password").fill(USER_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.goto(f"{centre.url}/agent/console")
        await expect(page.get_by_test_id("link-status")).to_have_text("Live")
        # A second console of the same agent, to time the pop frame against the answer.
        watcher = Browserless(centre.url, "a1")
        supervisor = Browserless(centre.url, "sam")
        await watcher.open("/agent/console/ws")
        try:
            sip = Phones(centre)
            phone = await sip.agent("alice", "agent_answers.xml")
            waiting = await sip.caller(
                "caller_cancels.xml", DIALLED, customer=standard,
                **{'milliseconds="300"': 'milliseconds="8000"'},
            )  # fmt: skip
            first = await centre.events.wait(CallQueued)
            vip_caller = await sip.caller("caller_hangs_up.xml", DIALLED, customer=vip)
            second = await centre.events.wait(CallQueued, lambda q: q.call_id != first.call_id)
            assert (await centre.pop.wait(second.call_id, 10.0))["tier"] == "platinum"

            await page.get_by_role("button", name="Ready", exact=True).click()
            offer = await centre.events.wait(Offer)
            assert offer.call_id == second.call_id  # the VIP, though the other waited longer
            await expect(page.get_by_test_id("pop-name")).to_have_text("Grace Hopper")
            await expect(page.get_by_test_id("pop-tier")).to_have_text("VIP · platinum")

            def vip_popped(frame: dict[str, Any]) -> bool:
                pop = frame.get("pop")
                return (
                    frame.get("kind") == "pop"
                    and isinstance(pop, dict)
                    and (pop.get("call_id") == second.call_id)
                )

            popped = await watcher.wait_for(vip_popped)
            answered = await centre.events.wait(
                CallDequeued,
                lambda d: d.call_id == second.call_id and d.outcome is Outcome.ANSWERED,
            )
            # The pop reached the console before the agent's phone answered.
            assert watcher.arrival_of(popped) < centre.events.time_of(lambda e: e is answered)
            await passed(vip_caller)  # bridged, audio both ways; the caller hangs up
            await passed(phone)
            await closed(centre, second.call_id)
            recorded = await centre.store.get(second.call_id)
            assert recorded is not None
            await passed(waiting)  # the standard caller gave up meanwhile

            await page.get_by_label("Disposition").select_option("resolved")
            await page.get_by_label("Notes").fill("Checked end to end")
            await page.get_by_role("button", name="Submit wrap-up").click()
            await expect(page.get_by_test_id("agent-state")).to_have_text("ready")

            history = (await directory.customer_360(vip)).recent_interactions
            [written] = [i for i in history if i.notes == "Checked end to end"]
            assert (written.disposition, written.agent) == ("resolved", "a1")
            assert written.queue == "sales"
            assert written.talk_seconds >= 2
            # The history points at the call's recording: a supervisor plays it, an agent may not.
            assert written.recording_ref == recording_ref(second.call_id)
            assert (await watcher.get(written.recording_ref))[0] == 403
            await supervisor.open("/supervisor/board/ws")
            played = await supervisor.get(written.recording_ref)
            assert played == (200, recorded.path.read_bytes())
        finally:
            await watcher.close()
            await supervisor.close()
        assert [m.text for m in console_messages if m.type == "error"] == []
