"""Process settings, read once at the edge into a frozen object; packages never read os.environ."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

ENV_PREFIX = "SWITCHBOARD_"


class Settings(BaseModel):
    """Where Switchboard listens and keeps its data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    config_file: Path = Path("config/example.yaml")
    data_dir: Path = Path("data")
    # Empty means the embedded default: SQLite in data_dir.
    database_url: str = ""
    # Empty means in-memory router and agent state (one machine).
    redis_url: str = ""
    sip_host: str = "127.0.0.1"
    sip_port: int = Field(default=5060, ge=0, le=65535)
    # YAML/JSON file of the agents' SIP phone secrets (config/sip_credentials.py); without
    # it no phone can register, so the SIP listener stays off (web and routing only).
    sip_credentials_file: Path | None = None
    # The digest realm agents' phones authenticate in (an "ha1" secret is hashed with it).
    sip_realm: str = Field(default="switchboard", min_length=1)
    # The RTP relay binds the even ports of this range, two per bridged call.
    rtp_port_first: int = Field(default=20000, ge=1024, le=65535)
    rtp_port_last: int = Field(default=29999, ge=1024, le=65535)
    # Recordings (data_dir/recordings) older than this are deleted.
    recording_retention_days: int = Field(default=90, ge=1)
    # On SIGTERM, calls in progress get this long to finish before they are ended.
    shutdown_grace_s: float = Field(default=30.0, ge=0, le=3600)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    # Signs session and CSRF tokens; empty means a random one per process (sessions end on restart).
    secret_key: str = ""
    # Region (ISO 3166) for caller numbers in national format, e.g. "GB", "US".
    crm_region: str = "US"
    # Routing waits at most this long for the customer lookup, then treats the caller as unknown.
    crm_lookup_budget_ms: int = Field(default=150, ge=1, le=10_000)
    # Sign-in sessions end after this long unused, and at the latest this long after sign-in.
    session_idle_timeout_s: int = Field(default=1800, ge=60)
    session_absolute_timeout_s: int = Field(default=43200, ge=300)
    # Mark cookies Secure even over plain HTTP (a TLS-terminating proxy sits in front).
    force_secure_cookies: bool = False
    # Prometheus scrapes /metrics with "Authorization: Bearer <token>"; empty: supervisors only.
    metrics_token: str = ""
    # Addresses or networks (comma-separated) of the reverse proxy in front, whose
    # X-Forwarded-For/-Proto/-Host are believed; empty: none are, the peer is the client.
    trusted_proxies: str = ""
    # Failed sign-ins allowed per username and per client address within the window.
    sign_in_failures_per_username: int = Field(default=5, ge=1)
    sign_in_failures_per_address: int = Field(default=50, ge=1)
    sign_in_window_s: int = Field(default=300, ge=1)
    # Switchboard as an extension on an existing PBX (telephony/calls/pbx_ingress.py): off
    # unless pbx_host (the PBX's registrar) is set. Its calls are routed as if pbx_route_number
    # (a configured route's DNIS) was dialled.
    pbx_host: str = ""
    pbx_port: int = Field(default=5060, ge=1, le=65535)
    pbx_extension: str = ""
    pbx_password: str = Field(default="", repr=False)
    # Our SIP and RTP address as the PBX sees it; the per-call relay ports bind there too.
    pbx_local_host: str = "127.0.0.1"
    # The extension's own SIP port: pyVoIP binds it, so it cannot be the B2BUA's sip_port.
    pbx_sip_port: int = Field(default=5070, ge=1, le=65535)
    # The extension's RTP ports (pyVoIP's side), apart from the relay's rtp_port_first/last.
    pbx_rtp_first: int = Field(default=10000, ge=1024, le=65535)
    pbx_rtp_last: int = Field(default=19999, ge=1024, le=65535)
    pbx_route_number: str = ""
    # The PBX's call rings the extension at most this long before it is taken or declined.
    pbx_ring_timeout_s: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _pbx_complete(self) -> Self:
        if not self.pbx_host:
            return self
        if not self.pbx_extension:
            raise ValueError("pbx_extension is required when pbx_host is set")
        if not self.pbx_route_number:
            raise ValueError("pbx_route_number is required when pbx_host is set")
        if self.pbx_sip_port == self.sip_port:
            raise ValueError(
                f"pbx_sip_port ({self.pbx_sip_port}) must differ from sip_port: "
                "the PBX extension and the SIP listener each bind their own port"
            )
        if self.pbx_rtp_first > self.pbx_rtp_last:
            raise ValueError("pbx_rtp_first must not be above pbx_rtp_last")
        return self

    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'switchboard.db'}"


def load_settings(environ: Mapping[str, str], **overrides: object) -> Settings:
    """Build settings from SWITCHBOARD_* variables, then explicit overrides (command-line flags)."""
    values: dict[str, object] = {}
    for name in Settings.model_fields:
        key = ENV_PREFIX + name.upper()
        if key in environ:
            values[name] = environ[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings.model_validate(values)
