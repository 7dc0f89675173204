"""Cheap read-only views of the engine for the supervisor board."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from router.model import AgentState


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """One queue right now: callers waiting, the longest wait, and its agents by state."""

    queue_id: str
    waiting: int
    ringing: int
    longest_wait_s: float
    agents: Mapping[AgentState, int]
    handle_time_s: float


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    """One agent right now: state, since when, the not-ready reason code, the current call."""

    agent_id: str
    state: AgentState
    since: float
    reason_code: str | None
    call_id: str | None
