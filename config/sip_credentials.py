"""Agents' SIP phone credentials for the registrar, read from a file named in the settings.

The file (YAML or JSON) maps each SIP username to its secret: `{"1001": {"password": "..."}}`
or, to keep no clear password on disk, `{"1001": {"ha1": "<md5 of user:realm:password>"}}`.
`switchboard demo` writes one for its softphones. Errors name the file and the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, model_validator

from telephony.sip.registrar import Credential


class _Secret(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    password: str | None = Field(default=None, min_length=1)
    ha1: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$")

    @model_validator(mode="after")
    def _one(self) -> _Secret:
        if (self.password is None) == (self.ha1 is None):
            raise ValueError("give exactly one of password or ha1")
        return self


class _File(RootModel[dict[str, _Secret]]):
    pass


class FileCredentials:
    """A CredentialProvider over the file's entries (read once; restart to change)."""

    def __init__(self, entries: Mapping[str, Credential]) -> None:
        self._entries = dict(entries)

    async def credential(self, username: str) -> Credential | None:
        """Return the user's credential, or None for an unknown user."""
        return self._entries.get(username)

    def __len__(self) -> int:
        return len(self._entries)


def load_sip_credentials(path: Path) -> FileCredentials:
    """Read the credentials file; raise ValueError naming the file and entry when it is bad."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read SIP credentials: {exc}") from exc
    try:
        parsed = _File.model_validate(document if document is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ValueError(f"{path}: SIP credentials, {where}: {first['msg']}") from exc
    return FileCredentials(
        {
            str(username): Credential(password=secret.password, ha1=secret.ha1)
            for username, secret in parsed.root.items()
        }
    )
