"""The console's logic: follow routing for each agent's desk, act for the agent, write wrap-ups.

It listens to routing's events (a synchronous listener: no awaiting), keeps each agent's
desk, and pushes the agent's whole state to their consoles when it changes. Actions check
the call is the agent's own before touching it. Wrap-up drafts are kept here, on the server,
so a reload finds them; a wrap-up the timer ends unsubmitted is written with its draft.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from agents.console.desk import CallInfo, Desk, OfferInfo, WrapInfo
from agents.console.hub import POP, QUEUES, STATE, Hub
from agents.console.models import (
    CallView,
    Choice,
    ConsoleState,
    NewCaller,
    OfferView,
    PopFrame,
    QueuesFrame,
    QueueView,
    TransferTargets,
    WrapUp,
    WrapView,
)
from agents.console.ports import (
    ConsoleOptions,
    ConsoleRouting,
    DispositionChoice,
    OfferControl,
    PopSource,
    RecordingLookup,
)
from crm_bridge.errors import CrmError, CustomerNotFound, InvalidInput
from crm_bridge.interface import (
    CallOutcome,
    CaseUpdate,
    CustomerDirectory,
    FollowUp,
    NewCustomer,
)
from router.events import (
    AgentStateChanged,
    CallFinished,
    CallTransferred,
    Event,
    Offer,
    OfferCancelled,
    OfferTimedOut,
    RoutingError,
)
from router.intake import CallControl
from router.model import AgentSpec, AgentState, QueueSpec

log = logging.getLogger(__name__)


class ConsoleError(Exception):
    """An action the console refuses: `status` is the HTTP status the edge answers with."""

    def __init__(self, status: int, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = dict(fields or {})


def _encode(model: ConsoleState | PopFrame | QueuesFrame) -> bytes:
    return model.model_dump_json().encode()


class ConsoleService:
    """Every agent's desk, the actions on it, and the frames to their consoles."""

    def __init__(
        self,
        *,
        routing: ConsoleRouting,
        call_control: CallControl,
        offers: OfferControl,
        directory: Callable[[], CustomerDirectory],
        pops: PopSource,
        reason_codes: Callable[[], Mapping[str, str]],
        dispositions: Callable[[], Sequence[DispositionChoice]],
        options: ConsoleOptions,
        hub: Hub,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        recording_of: RecordingLookup | None = None,
    ) -> None:
        self.routing = routing
        self.runtime = routing.runtime
        self.call_control = call_control
        self.offers = offers
        self.directory = directory
        self.pops = pops
        self.reason_codes = reason_codes
        self.dispositions = dispositions
        self.options = options
        self.hub = hub
        self.wall_clock = wall_clock
        self.recording_of = recording_of
        self.desks: dict[str, Desk] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self._agents_from: Sequence[AgentSpec] | None = None
        self._agents_by_id: dict[str, AgentSpec] = {}
        self._queues_from: Sequence[QueueSpec] | None = None
        self._queues_by_id: dict[str, QueueSpec] = {}

    # ------------------------------------------------------------------ following routing

    def on_events(self, batch: Sequence[Event]) -> None:
        """Update the desks from routing's events and push each changed agent's state."""
        changed: dict[str, None] = {}
        for event in batch:
            agent_id = self._apply(event)
            if agent_id is not None:
                changed[agent_id] = None
        for agent_id in changed:
            self.push_state(agent_id)

    def _apply(self, event: Event) -> str | None:
        now = self.runtime.now()
        if isinstance(event, Offer):
            desk = self._desk(event.agent_id)
            timeout = self._queue_timeout(event.queue_id)
            desk.offer = OfferInfo(event.call_id, event.queue_id, now + timeout, timeout)
            if event.queue_id in self.options.auto_answer_queues:
                # After this batch: answering inside a listener would interleave its events.
                asyncio.get_running_loop().call_soon(self._auto_answer, event.call_id)
            return event.agent_id
        if isinstance(event, OfferTimedOut | OfferCancelled):
            desk = self._desk(event.agent_id)
            if desk.offer is not None and desk.offer.call_id == event.call_id:
                desk.offer = None
            return event.agent_id
        if isinstance(event, CallFinished):
            desk = self._desk(event.agent_id)
            call = desk.call
            if call is not None and call.call_id == event.call_id:
                desk.call = None
                self._start_wrap(event.agent_id, desk, call, now)
            return event.agent_id
        if isinstance(event, CallTransferred):
            wrap = self._desk(event.agent_id).wrap
            if wrap is not None and wrap.call_id == event.call_id:
                wrap.outcome = "transferred"
            return event.agent_id
        if isinstance(event, AgentStateChanged):
            self._state_changed(event, now)
            return event.agent_id
        return None

    def _state_changed(self, event: AgentStateChanged, now: float) -> None:
        desk = self._desk(event.agent_id)
        if event.new is AgentState.ON_CALL:
            offer = desk.offer
            call_id = (
                offer.call_id
                if offer
                else self.runtime.engine.agent_snapshot(event.agent_id).call_id
            )
            desk.offer = None
            if desk.wrap is not None:  # a call without wrap-up time: its record is written now
                self._write_later(event.agent_id, desk.wrap)
                desk.wrap = None
            if call_id is not None:
                queue_id = offer.queue_id if offer else ""
                desk.call = CallInfo(call_id, queue_id, self.wall_clock(), now)
        elif event.old is AgentState.WRAP_UP and desk.wrap is not None and not desk.wrap.writing:
            # Wrap-up ended without a submit (its timer, or a state change): nothing is lost,
            # what the agent drafted so far is written.
            self._write_later(event.agent_id, desk.wrap)
            desk.wrap = None
        if event.new is AgentState.LOGGED_OUT:
            desk.offer = None

    def _start_wrap(self, agent_id: str, desk: Desk, call: CallInfo, now: float) -> None:
        if desk.wrap is not None and not desk.wrap.writing:
            self._write_later(agent_id, desk.wrap)
        desk.wrap = WrapInfo(
            call_id=call.call_id,
            queue_id=call.queue_id,
            answered_at=call.answered_at,
            talk_s=now - call.answered_clock - call.held(now),
            hold_s=call.held(now),
            ended_clock=now,
        )

    def _auto_answer(self, call_id: str) -> None:
        try:
            self.offers.accept(call_id)
        except RoutingError as exc:
            log.info("auto-answer of call %s failed: %s", call_id, exc)

    # ------------------------------------------------------------------ frames

    def state_of(self, agent_id: str) -> ConsoleState:
        """Return the agent's whole console state right now."""
        engine = self.runtime.engine
        now = self.runtime.now()
        try:
            snapshot = engine.agent_snapshot(agent_id)
        except RoutingError as exc:
            raise ConsoleError(404, "your agent id is not in the routing configuration") from exc
        desk = self._desk(agent_id)
        specs = self._queue_index()
        mine = self._agent_queues(agent_id)
        queues = [
            QueueView(id=q, name=specs[q].name or q, waiting=engine.queue_snapshot(q, now).waiting)
            for q in mine
            if q in specs
        ]
        focus = self._focus_call(desk)
        pop = None if focus is None else self.pops.current(focus)
        return ConsoleState(
            agent_id=agent_id,
            state=snapshot.state.value,
            reason_code=snapshot.reason_code,
            in_state_s=max(0.0, now - snapshot.since),
            queues=queues,
            offer=self._offer_view(desk.offer, specs, now),
            call=self._call_view(desk.call, now),
            wrap=self._wrap_view(desk.wrap),
            pop=pop,
            reason_codes=[Choice(id=k, name=v) for k, v in self.reason_codes().items()],
        )

    def transfer_targets(self, agent_id: str) -> TransferTargets:
        """Return every queue, and the other agents logged in now (a floor's list, not all)."""
        engine = self.runtime.engine
        agents = []
        for spec in self.routing.agents():
            if spec.id == agent_id:
                continue
            if engine.agent_snapshot(spec.id).state is not AgentState.LOGGED_OUT:
                agents.append(Choice(id=spec.id, name=spec.name or spec.id))
        return TransferTargets(
            queues=[Choice(id=s.id, name=s.name or s.id) for s in self.routing.queues()],
            agents=sorted(agents, key=lambda choice: choice.name),
        )

    def push_state(self, agent_id: str) -> None:
        """Send the agent's state to their open consoles (nothing to do when none is open)."""
        if self.hub.watching(agent_id):
            self.hub.push(agent_id, STATE, _encode(self.state_of(agent_id)))

    def deliver_pop(self, agent_id: str, pop: dict[str, Any]) -> None:
        """Send a ready pop to the agent's consoles."""
        self.hub.push(agent_id, POP, _encode(PopFrame(pop=pop)))

    def queues_frame(self) -> bytes:
        """Encode the waiting count of every queue once, for every console."""
        engine = self.runtime.engine
        now = self.runtime.now()
        waiting = {q: engine.queue_snapshot(q, now).waiting for q in engine.queue_ids()}
        return _encode(QueuesFrame(waiting=waiting))

    async def tick(self) -> None:
        """Send the queue counts to every open console (the board update), chunk by chunk."""
        if self.hub.connections:
            # Spread over half the interval: every console still gets one each interval.
            spread = self.options.board_interval_s / 2
            await self.hub.broadcast_in_chunks(QUEUES, self.queues_frame(), spread_s=spread)

    # ------------------------------------------------------------------ agent state

    def set_state(self, agent_id: str, state: str, reason_code: str | None) -> None:
        """Go ready, not ready with a configured reason, or log out."""
        engine = self.runtime.engine
        if state == "not_ready":
            codes = self.reason_codes()
            if reason_code not in codes:
                raise ConsoleError(
                    422, "the input is not valid", {"reason_code": "choose a configured reason"}
                )
        current = self._snapshot(agent_id).state
        if state != "logged_out" and current is AgentState.LOGGED_OUT:
            self._act(lambda now: engine.agent_login(agent_id, now))
        if state == "ready":
            self._act(lambda now: engine.agent_ready(agent_id, now))
        elif state == "not_ready":
            code = reason_code or ""
            self._act(lambda now: engine.agent_not_ready(agent_id, code, now))
        elif current is not AgentState.LOGGED_OUT:
            self._act(lambda now: engine.agent_logout(agent_id, now))
        self.push_state(agent_id)

    # ------------------------------------------------------------------ offer and call

    def accept(self, agent_id: str, call_id: str) -> None:
        """Take the call ringing for this agent."""
        self._ringing(agent_id, call_id)
        self._control(lambda: self.offers.accept(call_id))

    def reject(self, agent_id: str, call_id: str) -> None:
        """Decline the call ringing for this agent."""
        self._ringing(agent_id, call_id)
        self._control(lambda: self.offers.reject(call_id))

    def hold(self, agent_id: str, call_id: str) -> None:
        """Put the agent's caller on hold."""
        call = self._on_call(agent_id, call_id)
        if call.hold_since is not None:
            raise ConsoleError(409, "the caller is already on hold")
        self._control(lambda: self.call_control.hold(call_id))
        call.hold_since = self.runtime.now()
        self.push_state(agent_id)

    def resume(self, agent_id: str, call_id: str) -> None:
        """Take the agent's caller off hold."""
        call = self._on_call(agent_id, call_id)
        if call.hold_since is None:
            raise ConsoleError(409, "the caller is not on hold")
        self._control(lambda: self.call_control.resume(call_id))
        call.hold_s = call.held(self.runtime.now())
        call.hold_since = None
        self.push_state(agent_id)

    def hang_up(self, agent_id: str, call_id: str) -> None:
        """End the agent's call; wrap-up follows."""
        self._on_call(agent_id, call_id)
        self._control(lambda: self.call_control.hang_up(call_id))

    def transfer(
        self, agent_id: str, call_id: str, queue_id: str | None, to_agent: str | None
    ) -> None:
        """Blind-transfer the agent's caller to a queue or another agent."""
        self._on_call(agent_id, call_id)
        if (queue_id is None) == (to_agent is None):
            raise ConsoleError(
                422, "the input is not valid", {"queue_id": "give a queue or an agent, not both"}
            )
        if queue_id is not None and queue_id not in self._queue_index():
            raise ConsoleError(422, "the input is not valid", {"queue_id": "no such queue"})
        if to_agent is not None and to_agent not in self._agent_index():
            raise ConsoleError(422, "the input is not valid", {"agent_id": "no such agent"})
        self._control(
            lambda: self.call_control.transfer(call_id, queue_id=queue_id, agent_id=to_agent)
        )

    # ------------------------------------------------------------------ customer

    async def choose_customer(self, agent_id: str, call_id: str, customer_id: str) -> None:
        """Make the picked customer the call's customer."""
        self._own_call(agent_id, call_id)
        try:
            await self.pops.choose(call_id, customer_id)
        except CustomerNotFound as exc:
            raise ConsoleError(404, "no customer with that id") from exc
        self.push_state(agent_id)

    async def create_customer(self, agent_id: str, new: NewCaller) -> str:
        """Create the unknown caller as a customer, with the number they call from."""
        self._own_call(agent_id, new.call_id)
        pop = self.pops.current(new.call_id)
        number = None if pop is None else pop.get("number")
        try:
            customer_id = await self.directory().create_customer(
                NewCustomer(
                    name=new.name,
                    numbers=(number,) if number else (),
                    account_number=new.account_number or None,
                    company=new.company or None,
                    owner_agent=agent_id,
                    notes=new.notes,
                )
            )
        except InvalidInput as exc:
            raise ConsoleError(422, "the customer was not created", {"customer": str(exc)}) from exc
        log.info("agent %s created customer %s from call %s", agent_id, customer_id, new.call_id)
        await self.pops.choose(new.call_id, customer_id)
        self.push_state(agent_id)
        return customer_id

    # ------------------------------------------------------------------ wrap-up

    def save_draft(self, agent_id: str, draft: WrapUp) -> None:
        """Keep the wrap-up draft on the server (a reload finds it)."""
        wrap = self._wrapping(agent_id, draft.call_id)
        self._check_disposition(wrap, draft, required=False)
        wrap.draft = draft

    async def submit(self, agent_id: str, form: WrapUp) -> str:
        """Write the wrap-up to the customer's history and end wrap-up; return the interaction."""
        wrap = self._wrapping(agent_id, form.call_id)
        self._check_disposition(wrap, form, required=True)
        pop = self.pops.current(form.call_id)
        if self._customer_of(form.call_id) is None and not (pop and pop.get("number")):
            # The history is keyed by customer or number; with neither there is nowhere to
            # write it, so ask for the customer instead of dropping the record.
            raise ConsoleError(
                422,
                "the wrap-up was not saved",
                {"customer": "the caller's number is unknown: create or pick the customer"},
            )
        wrap.draft = form
        wrap.writing = True
        try:
            interaction_id = await self._write(agent_id, wrap)
        except CrmError as exc:
            wrap.writing = False
            raise ConsoleError(422, "the wrap-up was not saved", {"wrap_up": str(exc)}) from exc
        except BaseException:
            wrap.writing = False
            raise
        desk = self._desk(agent_id)
        if desk.wrap is wrap:
            desk.wrap = None
        if self._snapshot(agent_id).state is AgentState.WRAP_UP:
            self._act(lambda now: self.runtime.engine.wrap_up_done(agent_id, now))
        self.push_state(agent_id)
        return interaction_id

    async def close(self) -> None:
        """Finish writing the wrap-ups already started."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def _check_disposition(self, wrap: WrapInfo, form: WrapUp, *, required: bool) -> None:
        allowed = {c.id for c in self._dispositions_for(wrap.queue_id)}
        if form.disposition is None:
            if required and allowed:
                raise ConsoleError(
                    422, "the input is not valid", {"disposition": "choose a disposition"}
                )
        elif form.disposition not in allowed:
            raise ConsoleError(
                422, "the input is not valid", {"disposition": "not a disposition of this queue"}
            )
        if (form.case_subject or form.follow_up_at) and self._customer_of(form.call_id) is None:
            raise ConsoleError(
                422,
                "the input is not valid",
                {"case_subject": "a case or follow-up needs a customer: create or pick one"},
            )

    def _customer_of(self, call_id: str) -> str | None:
        pop = self.pops.current(call_id)
        customer = None if pop is None else pop.get("customer")
        return None if not customer else str(customer["customer_id"])

    async def _write(self, agent_id: str, wrap: WrapInfo) -> str:
        draft = wrap.current_draft()
        pop = self.pops.current(wrap.call_id)
        customer_id = self._customer_of(wrap.call_id)
        number = None if pop is None or customer_id is not None else pop.get("number")
        follow_up = None
        if draft.follow_up_at is not None and customer_id is not None:
            due = draft.follow_up_at
            due = due if due.tzinfo is not None else due.replace(tzinfo=UTC)
            follow_up = FollowUp(due_at=due, note=draft.follow_up_note)
        case = None
        if draft.case_subject and customer_id is not None:
            case = CaseUpdate(subject=draft.case_subject)
        outcome = CallOutcome(
            customer_id=customer_id,
            started_at=wrap.answered_at,
            agent=agent_id,
            queue=wrap.queue_id or None,
            outcome=wrap.outcome,
            disposition=draft.disposition,
            notes=draft.notes,
            talk_seconds=round(max(0.0, wrap.talk_s)),
            hold_seconds=round(wrap.hold_s),
            wrap_seconds=round(max(0.0, self.runtime.now() - wrap.ended_clock)),
            call_id=wrap.call_id,
            recording_ref=await self._recording_ref(wrap.call_id),
            caller_number=number,
            case=case,
            follow_up=follow_up,
        )
        interaction_id = await self.directory().record_outcome(outcome)
        self.pops.release(wrap.call_id)
        log.info("agent %s wrapped up call %s as %s", agent_id, wrap.call_id, interaction_id)
        return interaction_id

    async def _recording_ref(self, call_id: str) -> str | None:
        if self.recording_of is None:
            return None
        try:
            return await self.recording_of(call_id)
        except Exception:  # a missing reference must never cost the agent's notes
            log.exception("recording lookup failed for call %s; writing without it", call_id)
            return None

    def _write_later(self, agent_id: str, wrap: WrapInfo) -> None:
        wrap.writing = True

        async def write() -> None:
            try:
                await self._write(agent_id, wrap)
            except Exception:
                # Logged without the notes (customer data); the engine has moved on already.
                log.exception("the wrap-up of call %s could not be written", wrap.call_id)

        task = asyncio.get_running_loop().create_task(write(), name=f"wrap-{wrap.call_id}")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    # ------------------------------------------------------------------ helpers

    def _desk(self, agent_id: str) -> Desk:
        desk = self.desks.get(agent_id)
        if desk is None:
            desk = self.desks[agent_id] = Desk()
        return desk

    def _snapshot(self, agent_id: str) -> Any:
        try:
            return self.runtime.engine.agent_snapshot(agent_id)
        except RoutingError as exc:
            raise ConsoleError(404, "your agent id is not in the routing configuration") from exc

    def _act(self, action: Callable[[float], list[Event]]) -> None:
        try:
            self.runtime.act(action)
        except RoutingError as exc:
            raise ConsoleError(409, str(exc)) from exc

    def _control(self, action: Callable[[], None]) -> None:
        try:
            action()
        except RoutingError as exc:
            raise ConsoleError(409, str(exc)) from exc

    def _ringing(self, agent_id: str, call_id: str) -> OfferInfo:
        offer = self._desk(agent_id).offer
        if offer is None or offer.call_id != call_id:
            raise ConsoleError(409, "that call is not ringing for you")
        return offer

    def _on_call(self, agent_id: str, call_id: str) -> CallInfo:
        call = self._desk(agent_id).call
        if call is None or call.call_id != call_id:
            raise ConsoleError(409, "you are not on that call")
        return call

    def _wrapping(self, agent_id: str, call_id: str) -> WrapInfo:
        wrap = self._desk(agent_id).wrap
        if wrap is None or wrap.call_id != call_id or wrap.writing:
            raise ConsoleError(409, "that call is not waiting for your wrap-up")
        return wrap

    def _own_call(self, agent_id: str, call_id: str) -> None:
        if self._focus_call(self._desk(agent_id)) != call_id:
            raise ConsoleError(409, "that call is not yours")

    @staticmethod
    def _focus_call(desk: Desk) -> str | None:
        for item in (desk.call, desk.offer, desk.wrap):
            if item is not None:
                return item.call_id
        return None

    def _agent_index(self) -> Mapping[str, AgentSpec]:
        # Rebuilt only when routing hands out a new list (a reload): thousands of consoles
        # look their agent up on every frame.
        specs = self.routing.agents()
        if specs is not self._agents_from:
            self._agents_from = specs
            self._agents_by_id = {spec.id: spec for spec in specs}
        return self._agents_by_id

    def _queue_index(self) -> Mapping[str, QueueSpec]:
        specs = self.routing.queues()
        if specs is not self._queues_from:
            self._queues_from = specs
            self._queues_by_id = {spec.id: spec for spec in specs}
        return self._queues_by_id

    def _agent_queues(self, agent_id: str) -> list[str]:
        spec = self._agent_index().get(agent_id)
        return [] if spec is None else list(spec.queues)

    def _queue_timeout(self, queue_id: str) -> float:
        spec = self._queue_index().get(queue_id)
        return 0.0 if spec is None else spec.offer_timeout_s

    def _dispositions_for(self, queue_id: str) -> list[Choice]:
        return [
            Choice(id=d.id, name=d.name)
            for d in self.dispositions()
            if not d.queues or queue_id in d.queues
        ]

    def _offer_view(
        self, offer: OfferInfo | None, specs: Mapping[str, Any], now: float
    ) -> OfferView | None:
        if offer is None:
            return None
        spec = specs.get(offer.queue_id)
        return OfferView(
            call_id=offer.call_id,
            queue_id=offer.queue_id,
            queue_name=(spec.name or spec.id) if spec is not None else offer.queue_id,
            seconds_left=max(0.0, offer.deadline - now),
            timeout_s=offer.timeout_s,
            auto_answer=offer.queue_id in self.options.auto_answer_queues,
        )

    @staticmethod
    def _call_view(call: CallInfo | None, now: float) -> CallView | None:
        if call is None:
            return None
        return CallView(
            call_id=call.call_id,
            queue_id=call.queue_id,
            talking_s=max(0.0, now - call.answered_clock),
            on_hold=call.hold_since is not None,
        )

    def _wrap_view(self, wrap: WrapInfo | None) -> WrapView | None:
        if wrap is None or wrap.writing:
            return None
        return WrapView(
            call_id=wrap.call_id,
            queue_id=wrap.queue_id,
            outcome=wrap.outcome,
            draft=wrap.current_draft(),
            dispositions=self._dispositions_for(wrap.queue_id),
        )
