"""The console's JSON: API bodies and the frames the websocket sends (one schema for both)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Field(min_length=1, max_length=200)


class Body(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class StateChange(Body):
    """Go ready, not ready (with a configured reason code) or log out."""

    state: Literal["ready", "not_ready", "logged_out"]
    reason_code: str | None = Field(default=None, max_length=64)


class CallRef(Body):
    """The call an action is about (it must be the agent's own)."""

    call_id: str = Field(min_length=1, max_length=200)


class TransferRequest(CallRef):
    """Blind-transfer the call to a queue or to an agent."""

    queue_id: str | None = Field(default=None, max_length=64)
    agent_id: str | None = Field(default=None, max_length=64)


class ChooseCustomer(CallRef):
    """The customer the agent picked among several matches."""

    customer_id: str = Field(min_length=1, max_length=64)


class NewCaller(CallRef):
    """Create the unknown caller as a customer, with the caller's number."""

    name: str = Name
    account_number: str | None = Field(default=None, max_length=64)
    company: str | None = Field(default=None, max_length=200)
    notes: str = Field(default="", max_length=4000)


class WrapUp(CallRef):
    """The wrap-up form: disposition, notes, an optional case and follow-up reminder."""

    disposition: str | None = Field(default=None, max_length=64)
    notes: str = Field(default="", max_length=4000)
    case_subject: str | None = Field(default=None, max_length=200)
    follow_up_at: datetime | None = None
    follow_up_note: str = Field(default="", max_length=1000)


class Choice(BaseModel):
    """An id with the name a person reads."""

    id: str
    name: str


class QueueView(BaseModel):
    """One of the agent's queues and how many callers wait in it."""

    id: str
    name: str
    waiting: int


class OfferView(BaseModel):
    """A call ringing for the agent."""

    call_id: str
    queue_id: str
    queue_name: str
    seconds_left: float
    timeout_s: float
    auto_answer: bool


class CallView(BaseModel):
    """The call the agent is on."""

    call_id: str
    queue_id: str
    talking_s: float
    on_hold: bool


class WrapView(BaseModel):
    """The call being wrapped up, with the draft kept on the server."""

    call_id: str
    queue_id: str
    outcome: str
    draft: WrapUp
    dispositions: list[Choice]


class ConsoleState(BaseModel):
    """Everything the console shows; sent whole on connect and on every change."""

    kind: Literal["state"] = "state"
    agent_id: str
    state: str
    reason_code: str | None
    in_state_s: float
    queues: list[QueueView]
    offer: OfferView | None
    call: CallView | None
    wrap: WrapView | None
    pop: dict[str, Any] | None
    reason_codes: list[Choice]


class PopFrame(BaseModel):
    """The customer pop for a call, sent as soon as it is ready."""

    kind: Literal["pop"] = "pop"
    pop: dict[str, Any]


class QueuesFrame(BaseModel):
    """Callers waiting per queue, sent to every console once a second."""

    kind: Literal["queues"] = "queues"
    waiting: dict[str, int]


class Written(BaseModel):
    """The interaction written to the customer's history."""

    interaction_id: str


class CustomerCreated(BaseModel):
    """The customer created from an unknown caller."""

    customer_id: str


class TransferTargets(BaseModel):
    """Where the agent can transfer a caller: every queue, and the agents logged in now."""

    queues: list[Choice]
    agents: list[Choice]
