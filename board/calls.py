"""The console's call controls with holds and resumes logged: the router never sees them.

The composition root hands the agent console `LoggedCallControl(call_control, ...)` instead
of the call layer's own controls, so hold time reaches the event log (and AHT splits talk
from hold) without telephony knowing about the board. Hang-ups and transfers pass straight
through: the router logs those itself.
"""

from __future__ import annotations

from collections.abc import Callable

from board.records import CALL_HELD, CALL_RESUMED, EventRecord, RecordSink
from router.intake import CallControl


class LoggedCallControl:
    """A `CallControl` that logs each hold and resume the call layer carried out."""

    def __init__(
        self,
        control: CallControl,
        publish: RecordSink,
        clock: Callable[[], float],
        agent_of: Callable[[str], str | None],
    ) -> None:
        self._control = control
        self._publish = publish
        self._clock = clock
        self._agent_of = agent_of

    def hold(self, call_id: str) -> None:
        """Put the caller on hold, then log it (nothing is logged if the call layer refuses)."""
        self._control.hold(call_id)
        self._log(CALL_HELD, call_id)

    def resume(self, call_id: str) -> None:
        """Take the caller off hold, then log it."""
        self._control.resume(call_id)
        self._log(CALL_RESUMED, call_id)

    def hang_up(self, call_id: str) -> None:
        """End both legs of the call."""
        self._control.hang_up(call_id)

    def transfer(
        self, call_id: str, *, queue_id: str | None = None, agent_id: str | None = None
    ) -> None:
        """Blind-transfer the caller to a queue or an agent."""
        self._control.transfer(call_id, queue_id=queue_id, agent_id=agent_id)

    def _log(self, kind: str, call_id: str) -> None:
        record = EventRecord(self._clock(), kind, call_id=call_id, agent_id=self._agent_of(call_id))
        self._publish([record])
