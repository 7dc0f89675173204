"""Where a pyVoIP endpoint registers and which local addresses it uses."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SipAccount"]


@dataclass(frozen=True, slots=True)
class SipAccount:
    """A registration: the registrar (which pyVoIP also sends every response to) and our side."""

    server: str
    port: int
    username: str
    password: str = field(repr=False)
    local_host: str = "127.0.0.1"
    sip_port: int = 5060
    rtp_ports: tuple[int, int] = (10000, 20000)
    # pyVoIP sends REGISTER once and waits this long for an answer (its default is 30 s); it
    # tries three times before giving up, so a registrar that starts late is still reached.
    register_timeout: int = 5
