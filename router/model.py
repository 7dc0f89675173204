"""The static routing model: queues, agents, destinations and the call a caller brings in.

Everything here is a frozen, slotted dataclass so the engine can share it freely and a
hot reload is a plain swap. The config package maps the YAML file onto these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Strategy(StrEnum):
    """How a queue picks among its idle eligible agents."""

    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    LEAST_TALK_TIME = "least_talk_time"
    RANDOM_WEIGHTED = "random_weighted"


class DestinationKind(StrEnum):
    """Where a caller goes when a queue limit sends it away."""

    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    REFUSE = "refuse"


class AgentState(StrEnum):
    """The states an agent moves through."""

    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"
    RESERVED = "reserved"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True)
class Destination:
    """Send a caller to another queue, voicemail, a callback request, or refuse the call.

    `target` names the queue (QUEUE), the mailbox (VOICEMAIL) or the callback list
    (CALLBACK); for REFUSE it is unused and `sip_status` may carry the SIP final response
    (for example 486 or 480) the telephony edge should send.
    """

    kind: DestinationKind
    target: str = ""
    sip_status: int | None = None

    def __post_init__(self) -> None:
        if self.kind is DestinationKind.QUEUE and not self.target:
            raise ValueError("a queue destination needs a target queue id")
        if self.sip_status is not None and not 400 <= self.sip_status <= 699:
            raise ValueError(f"sip_status must be a 4xx-6xx final response, got {self.sip_status}")

    def __str__(self) -> str:
        if self.kind is DestinationKind.REFUSE:
            return "refuse" if self.sip_status is None else f"refuse ({self.sip_status})"
        return f"{self.kind.value} {self.target}".rstrip()


REFUSE = Destination(DestinationKind.REFUSE)


@dataclass(frozen=True, slots=True)
class SkillRequirement:
    """Require a skill at a minimum proficiency (1..10)."""

    skill: str
    min_proficiency: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.min_proficiency <= 10:
            raise ValueError(f"min_proficiency must be 1..10, got {self.min_proficiency}")


@dataclass(frozen=True, slots=True)
class BullseyeStep:
    """Widen the eligible pool once a caller has waited `after_s` seconds.

    Steps are cumulative: step k's pool is step k-1's pool plus the agents who meet the
    widened rule, so a pool never shrinks as a caller waits. The widened rule is the queue's
    required skills minus every skill dropped so far, each at `min_proficiency` when set
    (else at the latest earlier override, else as the queue says), over the queue's members
    plus the members of every extra queue named so far.
    """

    after_s: float
    min_proficiency: int | None = None
    drop_skills: frozenset[str] = frozenset()
    extra_queues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.after_s <= 0:
            raise ValueError(f"a bullseye step needs after_s > 0, got {self.after_s}")
        if self.min_proficiency is not None and not 1 <= self.min_proficiency <= 10:
            raise ValueError(f"min_proficiency must be 1..10, got {self.min_proficiency}")


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """Describe one queue: who may serve it, in what order, and its limits.

    Limits left as None are off. `max_wait_no_agents_s` applies while no eligible agent is
    logged in (0 sends a caller away at once). `aging_per_s` adds priority points per second
    waited so a long-waiting standard caller is not starved by VIPs. `expected_handle_s` seeds
    the handle-time estimate used for the estimated wait until real calls refine it.
    """

    id: str
    name: str = ""
    strategy: Strategy = Strategy.LONGEST_IDLE
    base_priority: float = 0.0
    skills: tuple[SkillRequirement, ...] = ()
    sl_threshold_s: float = 20.0
    sl_target: float = 0.8
    offer_timeout_s: float = 15.0
    rona_max_misses: int = 2
    wrap_up_s: float = 10.0
    max_queue_length: int | None = None
    on_queue_full: Destination = REFUSE
    max_wait_s: float | None = None
    on_max_wait: Destination = REFUSE
    max_wait_no_agents_s: float | None = None
    on_no_agents: Destination = REFUSE
    bullseye: tuple[BullseyeStep, ...] = ()
    preferred_agent_s: float = 0.0
    aging_per_s: float = 0.0
    expected_handle_s: float = 180.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.id:
            problems.append("id must not be empty")
        if self.offer_timeout_s <= 0:
            problems.append("offer_timeout_s must be > 0")
        if self.rona_max_misses < 1:
            problems.append("rona_max_misses must be >= 1")
        if self.wrap_up_s < 0:
            problems.append("wrap_up_s must be >= 0")
        if self.max_queue_length is not None and self.max_queue_length < 0:
            problems.append("max_queue_length must be >= 0")
        if self.max_wait_s is not None and self.max_wait_s <= 0:
            problems.append("max_wait_s must be > 0")
        if self.max_wait_no_agents_s is not None and self.max_wait_no_agents_s < 0:
            problems.append("max_wait_no_agents_s must be >= 0")
        if self.preferred_agent_s < 0:
            problems.append("preferred_agent_s must be >= 0")
        if self.aging_per_s < 0:
            problems.append("aging_per_s must be >= 0")
        if self.expected_handle_s <= 0:
            problems.append("expected_handle_s must be > 0")
        if not 0 <= self.sl_target <= 1:
            problems.append("sl_target must be within 0..1")
        times = [step.after_s for step in self.bullseye]
        if times != sorted(set(times)):
            problems.append("bullseye steps must have strictly increasing after_s")
        if problems:
            raise ValueError(f"queue {self.id!r}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """Describe one agent: skills (proficiency 1..10) and queue memberships.

    `queues` maps a queue id to the agent's priority for that queue; when two callers in
    different queues tie on priority and wait, the agent takes the one from the queue with
    the HIGHER number.
    """

    id: str
    name: str = ""
    skills: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    queues: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("agent id must not be empty")
        for skill, level in self.skills.items():
            if not 1 <= level <= 10:
                raise ValueError(f"agent {self.id!r}: skill {skill!r} must be 1..10, got {level}")
        # Freeze the mappings so a shared spec cannot be changed behind the engine's back.
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
        object.__setattr__(self, "queues", MappingProxyType(dict(self.queues)))

    def __hash__(self) -> int:
        return hash((self.id, tuple(sorted(self.skills.items())), tuple(sorted(self.queues))))


@dataclass(frozen=True, slots=True)
class Call:
    """Describe a caller entering a queue; its wait (aging, steps, limits) counts from arrival."""

    call_id: str
    queue_id: str
    arrival: float
    ani: str = ""
    dnis: str = ""
    tier: str = "standard"
    customer_id: str | None = None
    preferred_agent_id: str | None = None
    extra_priority: float = 0.0


DEFAULT_TIER_BOOSTS: Mapping[str, float] = MappingProxyType(
    {"platinum": 30.0, "gold": 20.0, "standard": 0.0}
)
