"""Staffing advice for a valid config: queues nobody can serve, members who never qualify.

These are not errors (a queue may be staffed later, a skill may be trained), but each one
is a likely mistake worth seeing before a change goes live. Eligibility comes from the
router's own pool planning, so the advice matches what the engine will do.
"""

from __future__ import annotations

from config.compile import to_router
from config.schema import ContactCentreConfig
from config.yaml_source import FieldPath
from router.pools import build_plans


def staffing_advice(config: ContactCentreConfig) -> list[tuple[FieldPath, str]]:
    """Return (path, message) for each queue, member or preferred agent that can never connect."""
    model = to_router(config)
    plans, _ = build_plans(model.queues, model.agents)
    advice: list[tuple[FieldPath, str]] = []
    members = {queue_id for agent in config.agents.values() for queue_id in agent.queues}
    for queue_id in config.queues:
        if not plans[queue_id].levels:
            why = (
                "no member meets the skills at any bullseye step"
                if queue_id in members
                else "no agent lists this queue"
            )
            advice.append((("queues", queue_id), f"no agent can ever take these calls: {why}"))
    for agent_id, agent in config.agents.items():
        for queue_id in agent.queues:
            if agent_id not in plans[queue_id].levels:
                needs = ", ".join(
                    f"{skill} {level}" for skill, level in config.queues[queue_id].skills.items()
                )
                advice.append(
                    (
                        ("agents", agent_id, "queues", queue_id),
                        f"this agent never qualifies for the queue at any bullseye step "
                        f"(it needs {needs})",
                    )
                )
    for route_id, route in config.routes.items():
        preferred = route.preferred_agent
        if preferred is not None and preferred not in plans[route.queue].levels:
            advice.append(
                (
                    ("routes", route_id, "preferred_agent"),
                    f"{preferred} can never take calls from queue {route.queue}, "
                    "so the preference has no effect",
                )
            )
    return advice
