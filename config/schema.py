"""The routing config file's schema: skills, tiers, queues, calendars, routes, agents and codes.

Every model is frozen and forbids unknown keys. Ids are the mapping keys (``queues: {sales:
...}``), so an error's path reads like the file: ``queues.sales.overflow.after_s``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.references import (
    AgentRef,
    CalendarRef,
    QueueRef,
    SkillRef,
    known_ids,
    unique_dnis,
    unique_sip_username,
)
from config.schema_types import (
    Clock,
    Count,
    FrozenMap,
    Identifier,
    NonNegativeNumber,
    Number,
    Percent,
    PhoneNumber,
    PositiveCount,
    PositiveNumber,
    Proficiency,
    SipUri,
    SipUsername,
    Text,
    TimeRange,
    TimeZoneName,
    expected,
)
from router.model import Strategy

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SipRefusal = Literal[486, 480, 503]


def _empty_map() -> Mapping[Any, Any]:
    return MappingProxyType({})


class Model(BaseModel):
    """Base of every config model: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Skill(Model):
    """A skill agents have and queues require (languages are skills too)."""

    name: Text


class Destination(Model):
    """Send a caller elsewhere: exactly one of queue, voicemail, callback or refuse."""

    queue: QueueRef | None = None
    voicemail: Identifier | None = None
    callback: Identifier | None = None
    refuse: SipRefusal | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        chosen = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise expected("exactly one of " + ", ".join(type(self).model_fields))
        return self

    @property
    def kind(self) -> str:
        """Return which kind of destination this is ("queue", "voicemail", ...)."""
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)


class RouteDestination(Destination):
    """A destination for a route, which may also redirect the caller to a SIP URI (302)."""

    redirect: SipUri | None = None


class ServiceLevel(Model):
    """Answer `target_percent` of calls within `threshold_s` seconds."""

    threshold_s: PositiveNumber = 20.0
    target_percent: Percent = 80.0


class LengthLimit(Model):
    """Send callers to `to` while `calls` callers are already waiting."""

    calls: Count
    to: Destination


class NoAgentsLimit(Model):
    """Send a caller to `to` once it has waited `after_s` with no eligible agent logged in."""

    after_s: NonNegativeNumber
    to: Destination


class Limits(Model):
    """The queue's limits besides overflow; each left out is off."""

    max_length: LengthLimit | None = None
    no_agents: NoAgentsLimit | None = None


class Overflow(Model):
    """Send a caller to `to` once it has waited `after_s` seconds (the queue's maximum wait)."""

    after_s: PositiveNumber
    to: Destination


class BullseyeStep(Model):
    """Widen the eligible pool once a caller has waited `after_s` seconds."""

    after_s: PositiveNumber
    min_proficiency: Proficiency | None = None
    drop_skills: tuple[SkillRef, ...] = ()
    add_queues: tuple[QueueRef, ...] = ()


class Queue(Model):
    """A queue: who may serve it, in what order, and what happens at its limits."""

    name: Text
    strategy: Strategy = Strategy.LONGEST_IDLE
    base_priority: Number = 0.0
    skills: FrozenMap[SkillRef, Proficiency] = Field(default_factory=_empty_map)
    service_level: ServiceLevel = ServiceLevel()
    offer_timeout_s: PositiveNumber = 15.0
    rona_max_misses: PositiveCount = 2
    wrap_up_s: NonNegativeNumber = 10.0
    limits: Limits = Limits()
    overflow: Overflow | None = None
    bullseye: tuple[BullseyeStep, ...] = ()
    preferred_agent_s: NonNegativeNumber = 0.0
    aging_per_s: NonNegativeNumber = 0.0
    expected_handle_s: PositiveNumber = 180.0

    @field_validator("bullseye")
    @classmethod
    def _steps_widen(
        cls, steps: tuple[BullseyeStep, ...], info: ValidationInfo
    ) -> tuple[BullseyeStep, ...]:
        times = [step.after_s for step in steps]
        if times != sorted(set(times)):
            raise expected("steps in strictly increasing order of after_s")
        required = info.data.get("skills")
        if required is not None:
            dropped = {skill for step in steps for skill in step.drop_skills}
            if not dropped <= set(required):
                raise expected("drop_skills naming only skills this queue requires")
        return steps


class Holiday(Model):
    """A whole day on which the calendar is closed."""

    date: datetime.date
    name: Text


class Calendar(Model):
    """Opening hours per weekday in a time zone, and holidays; a day left out is closed."""

    timezone: TimeZoneName
    weekly: FrozenMap[Weekday, tuple[Clock, ...]] = Field(default_factory=_empty_map)
    holidays: tuple[Holiday, ...] = ()

    @field_validator("weekly")
    @classmethod
    def _no_overlap(
        cls, weekly: Mapping[Weekday, tuple[TimeRange, ...]]
    ) -> Mapping[Weekday, tuple[TimeRange, ...]]:
        for ranges in weekly.values():
            ordered = sorted(ranges)
            if any(a.end > b.start for a, b in pairwise(ordered)):
                raise expected("time ranges that do not overlap within a day")
        return weekly


class RouteMode(StrEnum):
    """Whether the B2BUA bridges the caller to the agent or redirects the caller (302)."""

    BRIDGE = "bridge"
    REDIRECT = "redirect"


class Route(Model):
    """A dialled number (DNIS) and the queue it feeds, when it is open, and where else it goes."""

    dnis: Annotated[PhoneNumber, AfterValidator(unique_dnis)]
    queue: QueueRef
    mode: RouteMode = RouteMode.BRIDGE
    hours: CalendarRef | None = None
    out_of_hours: RouteDestination | None = Field(default=None, validate_default=True)
    preferred_agent: AgentRef | None = None

    @field_validator("out_of_hours")
    @classmethod
    def _needed_with_hours(
        cls, value: RouteDestination | None, info: ValidationInfo
    ) -> RouteDestination | None:
        if value is None and info.data.get("hours") is not None:
            raise expected("a destination for callers outside the hours (hours is set)")
        return value


class Agent(Model):
    """An agent: SIP username, skills with proficiency 1-10, and queues with a priority each."""

    name: Text
    sip_username: Annotated[SipUsername, AfterValidator(unique_sip_username)]
    skills: FrozenMap[SkillRef, Proficiency] = Field(default_factory=_empty_map)
    queues: FrozenMap[QueueRef, Count] = Field(default_factory=_empty_map)


class ReasonCode(Model):
    """A reason an agent gives for going Not Ready."""

    name: Text


class Disposition(Model):
    """A wrap-up outcome; `queues` limits it to those queues (empty: every queue)."""

    name: Text
    queues: tuple[QueueRef, ...] = ()


DEFAULT_TIERS: dict[str, float] = {"platinum": 30.0, "gold": 20.0, "standard": 0.0}


class ContactCentreConfig(Model):
    """A whole contact centre's routing configuration."""

    version: Literal[1]
    skills: FrozenMap[Identifier, Skill] = Field(default_factory=_empty_map)
    tiers: FrozenMap[Identifier, Number] = Field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_TIERS))
    )
    queues: FrozenMap[Identifier, Queue]
    calendars: FrozenMap[Identifier, Calendar] = Field(default_factory=_empty_map)
    routes: FrozenMap[Identifier, Route] = Field(default_factory=_empty_map)
    agents: FrozenMap[Identifier, Agent] = Field(default_factory=_empty_map)
    reason_codes: FrozenMap[Identifier, ReasonCode] = Field(default_factory=_empty_map)
    dispositions: FrozenMap[Identifier, Disposition] = Field(default_factory=_empty_map)

    @model_validator(mode="wrap")
    @classmethod
    def _with_known_ids(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # Reference fields deep in the tree check themselves against the ids gathered here.
        with known_ids(data):
            return handler(data)
