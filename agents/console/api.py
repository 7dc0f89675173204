"""The console's JSON API: everything the page does, for the signed-in agent's own desk."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from agents.api import Api
from agents.auth import current_session
from agents.console.models import (
    CallRef,
    ChooseCustomer,
    ConsoleState,
    CustomerCreated,
    NewCaller,
    StateChange,
    TransferRequest,
    TransferTargets,
    WrapUp,
    Written,
)
from agents.console.running import CONSOLE
from agents.console.service import ConsoleError, ConsoleService
from agents.errors import ApiError
from agents.roles import Role

api = Api(tag="agent console")


async def agent_of(request: web.Request) -> str:
    """Return the signed-in user's agent id; refuse a user who has none."""
    session = await current_session(request)
    agent_id = None if session is None else session.user.agent_id
    if agent_id is None:
        raise ApiError(403, "you have no agent id, so you have no console")
    return agent_id


def as_api_error(error: ConsoleError) -> ApiError:
    """Map a refused console action to its JSON error."""
    return ApiError(error.status, error.message, error.fields)


async def _state(request: web.Request) -> ConsoleState:
    agent_id = await agent_of(request)
    try:
        return request.app[CONSOLE].started().state_of(agent_id)
    except ConsoleError as exc:
        raise as_api_error(exc) from exc


@api.route("GET", "/api/console", role=Role.AGENT, response=ConsoleState)
async def console_state(request: web.Request) -> ConsoleState:
    """Return the signed-in agent's whole console state."""
    return await _state(request)


@api.route("GET", "/api/console/transfer-targets", role=Role.AGENT, response=TransferTargets)
async def console_transfer_targets(request: web.Request) -> TransferTargets:
    """Return the queues and the logged-in agents a caller can be transferred to."""
    agent_id = await agent_of(request)
    return request.app[CONSOLE].started().transfer_targets(agent_id)


@api.route("PUT", "/api/console/state", role=Role.AGENT, body=StateChange, response=ConsoleState)
async def console_set_state(request: web.Request, change: StateChange) -> ConsoleState:
    """Go ready, not ready with a reason code, or log out."""
    agent_id = await agent_of(request)
    try:
        request.app[CONSOLE].started().set_state(agent_id, change.state, change.reason_code)
    except ConsoleError as exc:
        raise as_api_error(exc) from exc
    return await _state(request)


@api.route("POST", "/api/console/offer/accept", role=Role.AGENT, body=CallRef)
async def console_accept(request: web.Request, ref: CallRef) -> None:
    """Accept the call ringing for you."""
    await _run(request, lambda s, a: s.accept(a, ref.call_id))


@api.route("POST", "/api/console/offer/reject", role=Role.AGENT, body=CallRef)
async def console_reject(request: web.Request, ref: CallRef) -> None:
    """Reject the call ringing for you (it goes to someone else)."""
    await _run(request, lambda s, a: s.reject(a, ref.call_id))


@api.route("POST", "/api/console/call/hold", role=Role.AGENT, body=CallRef)
async def console_hold(request: web.Request, ref: CallRef) -> None:
    """Put your caller on hold."""
    await _run(request, lambda s, a: s.hold(a, ref.call_id))


@api.route("POST", "/api/console/call/resume", role=Role.AGENT, body=CallRef)
async def console_resume(request: web.Request, ref: CallRef) -> None:
    """Take your caller off hold."""
    await _run(request, lambda s, a: s.resume(a, ref.call_id))


@api.route("POST", "/api/console/call/hangup", role=Role.AGENT, body=CallRef)
async def console_hang_up(request: web.Request, ref: CallRef) -> None:
    """Hang up your call; wrap-up follows."""
    await _run(request, lambda s, a: s.hang_up(a, ref.call_id))


@api.route("POST", "/api/console/call/transfer", role=Role.AGENT, body=TransferRequest)
async def console_transfer(request: web.Request, transfer: TransferRequest) -> None:
    """Blind-transfer your caller to a queue or another agent."""
    await _run(
        request,
        lambda s, a: s.transfer(a, transfer.call_id, transfer.queue_id, transfer.agent_id),
    )


@api.route("POST", "/api/console/customer/choose", role=Role.AGENT, body=ChooseCustomer)
async def console_choose_customer(request: web.Request, choice: ChooseCustomer) -> None:
    """Pick the caller among several customers sharing the number."""
    agent_id = await agent_of(request)
    try:
        await (
            request.app[CONSOLE]
            .started()
            .choose_customer(agent_id, choice.call_id, choice.customer_id)
        )
    except ConsoleError as exc:
        raise as_api_error(exc) from exc


@api.route(
    "POST",
    "/api/console/customer",
    role=Role.AGENT,
    body=NewCaller,
    response=CustomerCreated,
    status=201,
)
async def console_create_customer(request: web.Request, new: NewCaller) -> CustomerCreated:
    """Create the unknown caller as a customer; the pop shows them."""
    agent_id = await agent_of(request)
    try:
        customer_id = await request.app[CONSOLE].started().create_customer(agent_id, new)
    except ConsoleError as exc:
        raise as_api_error(exc) from exc
    return CustomerCreated(customer_id=customer_id)


@api.route("PUT", "/api/console/wrapup/draft", role=Role.AGENT, body=WrapUp)
async def console_save_draft(request: web.Request, draft: WrapUp) -> None:
    """Keep your wrap-up draft on the server (it survives a reload)."""
    await _run(request, lambda s, a: s.save_draft(a, draft))


@api.route("POST", "/api/console/wrapup", role=Role.AGENT, body=WrapUp, response=Written)
async def console_submit_wrap_up(request: web.Request, form: WrapUp) -> Written:
    """Submit the wrap-up: it is written to the customer's history and wrap-up ends."""
    agent_id = await agent_of(request)
    try:
        interaction_id = await request.app[CONSOLE].started().submit(agent_id, form)
    except ConsoleError as exc:
        raise as_api_error(exc) from exc
    return Written(interaction_id=interaction_id)


async def _run(request: web.Request, action: Callable[[ConsoleService, str], None]) -> None:
    agent_id = await agent_of(request)
    try:
        action(request.app[CONSOLE].started(), agent_id)
    except ConsoleError as exc:
        raise as_api_error(exc) from exc
