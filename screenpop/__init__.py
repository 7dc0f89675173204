"""screenpop: look the caller up as the call arrives and pop the customer on the agent's console.

The composition root builds `ScreenPop(directory, identified, crm_link=...)`, registers
`pop.call_arrived` as an arrival hook `(IncomingCall, queue_id)`, and hands it to the console
(`agents.console.setup(..., pops=pop)`), which subscribes `pop.on_events` to routing and gives
it the per-connection fan-out with `pop.deliver_to(...)`.
"""

from screenpop.compose import Pop, compose, crm_url
from screenpop.service import Deliver, Identified, PopNotFound, ScreenPop

__all__ = ["Deliver", "Identified", "Pop", "PopNotFound", "ScreenPop", "compose", "crm_url"]
