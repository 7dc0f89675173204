"""The board's JSON API: set an agent not ready or log them out (audited), and a call's "why"."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from agents import Api, ApiError, Role, current_session
from board.records import SUPERVISOR_ACTION, EventRecord
from board.service import BOARD
from router.events import Event, InvalidTransition, RoutingError, UnknownAgent
from router.model import AgentState

log = logging.getLogger(__name__)

api = Api(tag="supervisor board")


class NotReadyChange(BaseModel):
    """The reason code the agent's not-ready state will carry."""

    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(
        default="supervisor", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$"
    )


class AgentAction(BaseModel):
    """The agent's state after a supervisor's action."""

    agent_id: str
    state: str
    pending: bool = Field(
        description="True when the change waits for the agent's current call to end."
    )


class WhyStep(BaseModel):
    """One routing decision about a call and the router's reason for it."""

    at: str
    step: str
    why: str


class CallWhy(BaseModel):
    """The router's reasons for a call's routing so far, oldest first."""

    call_id: str
    steps: list[WhyStep]


async def _act(request: web.Request, action: str, reason_code: str | None) -> AgentAction:
    service = request.app[BOARD]
    routing, recorder, _ = service.started()
    agent_id = request.match_info["agent_id"]
    session = await current_session(request)
    assert session is not None  # the route requires a signed-in supervisor
    runtime = routing.runtime

    def apply(now: float) -> list[Event]:
        if action == "logout":
            return runtime.engine.agent_logout(agent_id, now)
        return runtime.engine.agent_not_ready(agent_id, reason_code or "", now)

    try:
        runtime.act(apply)
    except UnknownAgent as exc:
        raise ApiError(404, f"no agent {agent_id!r}") from exc
    except (InvalidTransition, RoutingError) as exc:
        raise ApiError(409, str(exc)) from exc
    state = runtime.engine.agent_snapshot(agent_id).state
    wanted = AgentState.LOGGED_OUT if action == "logout" else AgentState.NOT_READY
    pending = state is not wanted
    # The audit trail: who did what to whom, in the same durable log as the router's events.
    recorder.publish(
        [
            EventRecord(
                at=service.clock(),
                kind=SUPERVISOR_ACTION,
                agent_id=agent_id,
                data={
                    "action": action,
                    "reason_code": reason_code,
                    "by_user_id": session.user.id,
                    "by_username": session.user.username,
                    "pending": pending,
                },
            )
        ]
    )
    log.info("supervisor user %d: %s for agent %s", session.user.id, action, agent_id)
    return AgentAction(agent_id=agent_id, state=state.value, pending=pending)


@api.route(
    "POST",
    "/api/board/agents/{agent_id}/not-ready",
    role=Role.SUPERVISOR,
    body=NotReadyChange,
    response=AgentAction,
)
async def set_agent_not_ready(request: web.Request, change: NotReadyChange) -> AgentAction:
    """Set an agent Not Ready (after their current call, if on one); audited."""
    return await _act(request, "not_ready", change.reason_code)


@api.route(
    "POST", "/api/board/agents/{agent_id}/logout", role=Role.SUPERVISOR, response=AgentAction
)
async def log_agent_out(request: web.Request) -> AgentAction:
    """Log an agent out (after their current call, if on one); audited."""
    return await _act(request, "logout", None)


@api.route("GET", "/api/board/calls/{call_id}/why", role=Role.SUPERVISOR, response=CallWhy)
async def explain_call(request: web.Request) -> CallWhy:
    """Return the router's reasons for a call on the board."""
    call_id = request.match_info["call_id"]
    steps = request.app[BOARD].live.why(call_id)
    if steps is None:
        raise ApiError(404, "that call is no longer on the board")
    return CallWhy(call_id=call_id, steps=[WhyStep(**step) for step in steps])
