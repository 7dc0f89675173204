"""Supervisor board: event log, metrics, live board, reports and Prometheus metrics.

Other packages and the composition root use, from here:
- `setup(app, db, routing, BoardOptions(...))` with `Routing(runtime, queues, agents)`:
  the event log writer, the live board and its websocket, reports, `/metrics`;
- `MIGRATIONS_DIR`, `VERSION_TABLE` for the event log's migrations;
- `METRICS` (app key of `BoardMetrics`, also returned by `setup`): `sip_message` is
  telephony's `MessageCounter` (`SipEndpoint(count_message=metrics.sip_message)`), and
  `websocket_connections.labels(endpoint)` is the gauge other websockets feed;
- `BOARD` (app key of `BoardService`): `recorder.publish([EventRecord(...)])` to log events
  that do not come from the router (`CALL_HELD`, `CALL_RESUMED`);
- `LoggedCallControl(call_control, publish, clock, agent_of)`: the console's call controls
  with holds and resumes logged;
- `board.metrics` for the metric definitions, `board.reports` for interval reports.
"""

from board.calls import LoggedCallControl
from board.eventlog import MIGRATIONS_DIR, VERSION_TABLE, EventLog, EventLogOptions
from board.live import Routing
from board.metrics import AgentTotals, Fold, QueueTotals
from board.prom import BoardMetrics
from board.records import (
    CALL_HELD,
    CALL_RESUMED,
    CALL_TRANSFERRED,
    SUPERVISOR_ACTION,
    EventRecord,
    Recorder,
)
from board.reports import Interval, Report, build_report, compute_report
from board.service import BOARD, METRICS, BoardOptions, BoardService
from board.web import setup

__all__ = [
    "BOARD",
    "CALL_HELD",
    "CALL_RESUMED",
    "CALL_TRANSFERRED",
    "METRICS",
    "MIGRATIONS_DIR",
    "SUPERVISOR_ACTION",
    "VERSION_TABLE",
    "AgentTotals",
    "BoardMetrics",
    "BoardOptions",
    "BoardService",
    "EventLog",
    "EventLogOptions",
    "EventRecord",
    "Fold",
    "Interval",
    "LoggedCallControl",
    "QueueTotals",
    "Recorder",
    "Report",
    "Routing",
    "build_report",
    "compute_report",
    "setup",
]
