"""Precompute, from the configuration, which agents may serve each queue at each bullseye step.

The engine never scans agents at decision time; it asks these plans instead. A plan gives
every eligible agent its *level*: the first step at which it joins the queue's pool. Pools
are nested (step k's pool contains step k-1's), so an agent at level L serves callers whose
current step is L or later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from router.model import AgentSpec, QueueSpec


@dataclass(frozen=True, slots=True)
class AgentLink:
    """One queue an agent may serve: from which step, and the agent's priority for it."""

    queue_id: str
    level: int
    queue_priority: int


@dataclass(frozen=True, slots=True)
class QueuePlan:
    """A queue with its step start times and the level and skill score of each eligible agent."""

    spec: QueueSpec
    step_times: tuple[float, ...]
    levels: Mapping[str, int]
    scores: Mapping[str, int]
    order: Mapping[str, int]

    @property
    def last_step(self) -> int:
        """Return the index of the widest step."""
        return len(self.step_times) - 1

    def step_for(self, waited: float) -> int:
        """Return the step a caller has reached by time alone after waiting `waited` seconds."""
        step = 0
        for index, start in enumerate(self.step_times):
            if start <= waited:
                step = index
        return step

    def step_label(self, step: int) -> str:
        """Describe a step for a person."""
        if step == 0:
            return "initial pool"
        return f"bullseye step {step} at {self.step_times[step]:g} s"


def _qualifies(agent: AgentSpec, needs: Mapping[str, int]) -> bool:
    return all(agent.skills.get(skill, 0) >= level for skill, level in needs.items())


def plan_queue(
    queue: QueueSpec,
    agents: Mapping[str, AgentSpec],
    members: Mapping[str, list[str]],
    rank: Mapping[str, int],
) -> QueuePlan:
    """Compute the step times and each eligible agent's level for one queue."""
    levels: dict[str, int] = {}
    dropped: set[str] = set()
    override: int | None = None
    pool_queues: list[str] = [queue.id]
    rules = [(0.0, None, frozenset[str](), ())] + [
        (s.after_s, s.min_proficiency, s.drop_skills, s.extra_queues) for s in queue.bullseye
    ]
    for step, (_, min_prof, drop, extra) in enumerate(rules):
        dropped |= drop
        if min_prof is not None:
            override = min_prof
        pool_queues.extend(q for q in extra if q not in pool_queues)
        needs = {
            r.skill: (override if override is not None else r.min_proficiency)
            for r in queue.skills
            if r.skill not in dropped
        }
        for qid in pool_queues:
            for agent_id in members.get(qid, ()):
                if agent_id not in levels and _qualifies(agents[agent_id], needs):
                    levels[agent_id] = step
    scores = {
        agent_id: sum(agents[agent_id].skills.get(r.skill, 0) for r in queue.skills)
        for agent_id in levels
    }
    # Round robin walks agents in configuration order, so the first lap is predictable.
    in_order = sorted(levels, key=rank.__getitem__)
    order = {agent_id: index for index, agent_id in enumerate(in_order)}
    return QueuePlan(
        spec=queue,
        step_times=tuple(rule[0] for rule in rules),
        levels=levels,
        scores=scores,
        order=order,
    )


def build_plans(
    queues: Iterable[QueueSpec], agents: Iterable[AgentSpec]
) -> tuple[dict[str, QueuePlan], dict[str, tuple[AgentLink, ...]]]:
    """Plan every queue and list, per agent, the queues it may serve."""
    agent_map = {agent.id: agent for agent in agents}
    members: dict[str, list[str]] = {}
    for agent in agent_map.values():
        for queue_id in agent.queues:
            members.setdefault(queue_id, []).append(agent.id)
    rank = {agent_id: index for index, agent_id in enumerate(agent_map)}
    plans = {queue.id: plan_queue(queue, agent_map, members, rank) for queue in queues}
    links: dict[str, list[AgentLink]] = {agent_id: [] for agent_id in agent_map}
    for plan in plans.values():
        for agent_id, level in plan.levels.items():
            priority = agent_map[agent_id].queues.get(plan.spec.id, 0)
            links[agent_id].append(AgentLink(plan.spec.id, level, priority))
    return plans, {agent_id: tuple(found) for agent_id, found in links.items()}
