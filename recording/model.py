"""What the recording package hands out: a finished recording's metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

__all__ = ["Channel", "Recording", "RecordingCodec", "RecordingError"]


class RecordingError(RuntimeError):
    """A recording could not be started, written or read."""


class Channel(StrEnum):
    """Which party a stream comes from: the caller is the left channel, the agent the right."""

    CALLER = "caller"
    AGENT = "agent"


class RecordingCodec(StrEnum):
    """The G.711 law negotiated for the call."""

    PCMU = "PCMU"
    PCMA = "PCMA"


@dataclass(frozen=True, slots=True)
class Recording:
    """A finished recording: the call, when it started, how long, where and in what codec."""

    call_id: str
    started_at: datetime
    duration: float
    path: Path
    codec: RecordingCodec
    frames: int
    paused_seconds: float = 0.0

    def to_json(self) -> str:
        """Return the metadata as a JSON document (the sidecar file's content)."""
        return json.dumps(
            {
                "call_id": self.call_id,
                "started_at": self.started_at.isoformat(),
                "duration": self.duration,
                "path": self.path.name,
                "codec": self.codec.value,
                "frames": self.frames,
                "paused_seconds": self.paused_seconds,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, directory: Path) -> Recording:
        """Read metadata written by `to_json`; the file lies in `directory`."""
        try:
            data = json.loads(text)
            started = datetime.fromisoformat(data["started_at"])
            if started.tzinfo is None:
                raise ValueError("started_at has no time zone")
            return cls(
                call_id=str(data["call_id"]),
                started_at=started,
                duration=float(data["duration"]),
                path=directory / Path(str(data["path"])).name,
                codec=RecordingCodec(data["codec"]),
                frames=int(data["frames"]),
                paused_seconds=float(data.get("paused_seconds", 0.0)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordingError(f"recording metadata is unreadable: {type(exc).__name__}") from exc
