"""Compile a validated config into the router's model: queue specs, agent specs, tier boosts."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from config.schema import Agent, ContactCentreConfig, Destination, Queue
from router.model import (
    AgentSpec,
    BullseyeStep,
    DestinationKind,
    QueueSpec,
    SkillRequirement,
)
from router.model import Destination as RouterDestination


class RouterModel(NamedTuple):
    """What `router.engine.Engine(queues, agents, tier_boosts)` is built from."""

    queues: tuple[QueueSpec, ...]
    agents: tuple[AgentSpec, ...]
    tier_boosts: Mapping[str, float]


def to_router(config: ContactCentreConfig) -> RouterModel:
    """Map the config onto the router's frozen model, queues and agents in file order."""
    return RouterModel(
        queues=tuple(queue_spec(queue_id, queue) for queue_id, queue in config.queues.items()),
        agents=tuple(agent_spec(agent_id, agent) for agent_id, agent in config.agents.items()),
        tier_boosts=MappingProxyType(dict(config.tiers)),
    )


def destination(value: Destination) -> RouterDestination:
    """Map a queue-limit destination onto the router's Destination."""
    if value.queue is not None:
        return RouterDestination(DestinationKind.QUEUE, value.queue)
    if value.voicemail is not None:
        return RouterDestination(DestinationKind.VOICEMAIL, value.voicemail)
    if value.callback is not None:
        return RouterDestination(DestinationKind.CALLBACK, value.callback)
    return RouterDestination(DestinationKind.REFUSE, sip_status=value.refuse)


def queue_spec(queue_id: str, queue: Queue) -> QueueSpec:
    """Build the router's QueueSpec for one queue."""
    limits = queue.limits
    overflow = queue.overflow
    # A limit left out of the file is off; its destination is then never used.
    return QueueSpec(
        id=queue_id,
        name=queue.name,
        strategy=queue.strategy,
        base_priority=queue.base_priority,
        skills=tuple(SkillRequirement(skill, level) for skill, level in queue.skills.items()),
        sl_threshold_s=queue.service_level.threshold_s,
        sl_target=queue.service_level.target_percent / 100,
        offer_timeout_s=queue.offer_timeout_s,
        rona_max_misses=queue.rona_max_misses,
        wrap_up_s=queue.wrap_up_s,
        max_queue_length=None if limits.max_length is None else limits.max_length.calls,
        on_queue_full=_or_refuse(None if limits.max_length is None else limits.max_length.to),
        max_wait_s=None if overflow is None else overflow.after_s,
        on_max_wait=_or_refuse(None if overflow is None else overflow.to),
        max_wait_no_agents_s=None if limits.no_agents is None else limits.no_agents.after_s,
        on_no_agents=_or_refuse(None if limits.no_agents is None else limits.no_agents.to),
        bullseye=tuple(
            BullseyeStep(
                after_s=step.after_s,
                min_proficiency=step.min_proficiency,
                drop_skills=frozenset(step.drop_skills),
                extra_queues=step.add_queues,
            )
            for step in queue.bullseye
        ),
        preferred_agent_s=queue.preferred_agent_s,
        aging_per_s=queue.aging_per_s,
        expected_handle_s=queue.expected_handle_s,
    )


def _or_refuse(value: Destination | None) -> RouterDestination:
    return RouterDestination(DestinationKind.REFUSE) if value is None else destination(value)


def agent_spec(agent_id: str, agent: Agent) -> AgentSpec:
    """Build the router's AgentSpec for one agent."""
    return AgentSpec(id=agent_id, name=agent.name, skills=agent.skills, queues=agent.queues)
