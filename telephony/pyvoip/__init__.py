"""pyVoIP adapters: Switchboard as an extension on a PBX, and a softphone agent.

pyVoIP 1.6.8 is threaded; these modules are the only place its threads cross into the event
loop (`telephony.pyvoip.bridge`). `pyVoIP.VoIP` must be imported before `pyVoIP.SIP`, or the
latter fails with a circular import, so it is imported first here.
"""

import pyVoIP.VoIP  # noqa: F401  (import order: must precede any other pyVoIP import)

from telephony.pyvoip.account import SipAccount
from telephony.pyvoip.call import CallEnd, PyVoipCall
from telephony.pyvoip.extension import PbxExtension, PyVoipError
from telephony.pyvoip.softphone import AgentCall, SoftphoneAgent, pcm_from_tone, pcm_from_wav

__all__ = [
    "AgentCall",
    "CallEnd",
    "PbxExtension",
    "PyVoipCall",
    "PyVoipError",
    "SipAccount",
    "SoftphoneAgent",
    "pcm_from_tone",
    "pcm_from_wav",
]
