"""Compiling a config gives the router's frozen specs, which the real engine accepts."""

from __future__ import annotations

import pytest

from config.compile import to_router
from config.loader import load_config
from router.engine import Engine
from router.events import Offer
from router.model import (
    BullseyeStep,
    Call,
    Destination,
    DestinationKind,
    SkillRequirement,
    Strategy,
)
from tests.config.helpers import EXAMPLE, config_of, edit


def test_queue_fields_map_onto_the_queue_spec() -> None:
    text = edit(
        "    skills: {sales: 3}",
        "    skills: {sales: 3, english: 2}\n"
        "    strategy: fewest_calls\n"
        "    base_priority: 7\n"
        "    service_level: {threshold_s: 30, target_percent: 85}\n"
        "    offer_timeout_s: 12\n"
        "    rona_max_misses: 4\n"
        "    wrap_up_s: 25\n"
        "    limits:\n"
        "      max_length: {calls: 9, to: {refuse: 503}}\n"
        "      no_agents: {after_s: 0, to: {voicemail: sales_box}}\n"
        "    overflow: {after_s: 200, to: {queue: support}}\n"
        "    preferred_agent_s: 40\n"
        "    aging_per_s: 0.25\n"
        "    expected_handle_s: 330",
    )
    text = edit(
        "      - {after_s: 30, min_proficiency: 1}",
        "      - {after_s: 30, min_proficiency: 1}\n"
        "      - {after_s: 90, drop_skills: [english], add_queues: [support]}",
        text,
    )
    model = to_router(config_of(text))
    sales = model.queues[0]
    assert sales.id == "sales"
    assert sales.name == "Sales"
    assert sales.strategy is Strategy.FEWEST_CALLS
    assert sales.base_priority == 7
    assert sales.skills == (SkillRequirement("sales", 3), SkillRequirement("english", 2))
    assert (sales.sl_threshold_s, sales.sl_target) == (30, pytest.approx(0.85))
    assert (sales.offer_timeout_s, sales.rona_max_misses, sales.wrap_up_s) == (12, 4, 25)
    assert sales.max_queue_length == 9
    assert sales.on_queue_full == Destination(DestinationKind.REFUSE, sip_status=503)
    assert sales.max_wait_no_agents_s == 0
    assert sales.on_no_agents == Destination(DestinationKind.VOICEMAIL, "sales_box")
    assert sales.max_wait_s == 200
    assert sales.on_max_wait == Destination(DestinationKind.QUEUE, "support")
    assert sales.bullseye == (
        BullseyeStep(after_s=30, min_proficiency=1),
        BullseyeStep(after_s=90, drop_skills=frozenset({"english"}), extra_queues=("support",)),
    )
    assert (sales.preferred_agent_s, sales.aging_per_s, sales.expected_handle_s) == (40, 0.25, 330)
    support = model.queues[1]
    assert (support.max_queue_length, support.max_wait_s, support.max_wait_no_agents_s) == (
        None,
        None,
        None,
    )


def test_agents_and_tiers_map_across() -> None:
    model = to_router(load_config(EXAMPLE))
    assert [agent.id for agent in model.agents][:2] == ["amara.okafor", "ben.hughes"]
    amara = model.agents[0]
    assert dict(amara.skills) == {"sales": 9, "retention": 7, "english": 10}
    assert dict(amara.queues) == {"sales": 10, "vip_care": 5}
    assert dict(model.tier_boosts) == {"platinum": 30, "gold": 20, "standard": 0}
    assert [queue.id for queue in model.queues] == ["sales", "support", "vip_care", "billing"]


def test_the_engine_routes_on_the_compiled_example() -> None:
    queues, agents, tiers = to_router(load_config(EXAMPLE))
    engine = Engine(queues, agents, tiers, seed=1)
    engine.agent_login("daniel.weber", 0.0)
    engine.agent_ready("daniel.weber", 0.0)
    events = engine.call_arrived(Call("c1", "support", arrival=1.0, tier="gold"), 1.0)
    offers = [event for event in events if isinstance(event, Offer)]
    assert [(offer.call_id, offer.agent_id) for offer in offers] == [("c1", "daniel.weber")]
