"""Calls: the B2BUA that turns SIP INVITEs into routed, bridged and recorded calls.

See `telephony.calls.b2bua` for the call flow. The composition root calls
`setup(app, intake=..., runtime=..., registrar=..., recordings=..., host=..., port=...)`;
the console gets `app[CALL_CONTROL]` (hold, resume, hang up) and `serve` can await
`app[B2BUA].drain(deadline)` on SIGTERM.
"""

from telephony.calls.b2bua import B2bua
from telephony.calls.call import AgentLeg, Call
from telephony.calls.identity import CallerIdentity, caller_identity
from telephony.calls.media import CallMedia, CallRecorder, Recordings
from telephony.calls.setup import B2BUA, CALL_CONTROL, SIP_ENDPOINT, setup

__all__ = [
    "B2BUA",
    "CALL_CONTROL",
    "SIP_ENDPOINT",
    "AgentLeg",
    "B2bua",
    "Call",
    "CallMedia",
    "CallRecorder",
    "CallerIdentity",
    "Recordings",
    "caller_identity",
    "setup",
]
