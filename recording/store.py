"""Where recordings live: one WAV and one JSON metadata file per call under a directory."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recording.model import Recording, RecordingCodec, RecordingError
from recording.recorder import Recorder

__all__ = ["RecordingStore"]

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class RecordingStore:
    """Start recordings, find them by call id, and delete those past the retention period."""

    def __init__(
        self,
        directory: Path,
        *,
        retention_days: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter_seconds: float = 1.0,
        chunk_seconds: float = 5.0,
    ) -> None:
        if retention_days is not None and retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.directory = directory
        self.retention_days = retention_days
        self._clock = clock
        self._now = now
        self._jitter = jitter_seconds
        self._chunk = chunk_seconds
        # One writer thread for every recording: writes are ordered per file, and a slow disk
        # holds up recordings, never the event loop.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-writer")
        self._active: dict[str, Recorder] = {}
        directory.mkdir(parents=True, exist_ok=True)

    def file_stem(self, call_id: str) -> str:
        """Return the file name (without suffix) for a call id: readable, safe, collision-free."""
        digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        readable = _UNSAFE.sub("_", call_id)[:40]
        return f"{readable}-{digest}"

    def start(self, call_id: str, codec: RecordingCodec | str) -> Recorder:
        """Start recording a call; feed the returned recorder, then `await recorder.finish()`."""
        if call_id in self._active:
            raise RecordingError("this call is already being recorded")
        try:
            law = RecordingCodec(codec)
        except ValueError:
            raise RecordingError("recordings support PCMU and PCMA only") from None
        stem = self.file_stem(call_id)
        recorder = Recorder(
            call_id,
            law,
            self.directory / f"{stem}.wav",
            self._writer,
            clock=self._clock,
            started_at=self._now(),
            jitter_seconds=self._jitter,
            chunk_seconds=self._chunk,
            on_finish=self._finished,
        )
        self._active[call_id] = recorder
        return recorder

    def active(self, call_id: str) -> Recorder | None:
        """Return the recorder of a call being recorded, if any."""
        return self._active.get(call_id)

    def _finished(self, recording: Recording) -> None:
        # Runs in the writer thread, after the WAV is complete.
        meta = self.directory / f"{self.file_stem(recording.call_id)}.json"
        partial = meta.with_name(meta.name + ".part")
        partial.write_text(recording.to_json(), encoding="utf-8")
        partial.replace(meta)
        self._active.pop(recording.call_id, None)

    def _read(self, meta: Path) -> Recording:
        return Recording.from_json(meta.read_text(encoding="utf-8"), self.directory)

    async def get(self, call_id: str) -> Recording | None:
        """Return a finished recording's metadata by call id, or None."""
        meta = self.directory / f"{self.file_stem(call_id)}.json"
        try:
            return await asyncio.to_thread(self._read, meta)
        except FileNotFoundError:
            return None

    async def all(self) -> list[Recording]:
        """Return every finished recording, oldest first (unreadable metadata is logged)."""
        return await asyncio.to_thread(self._list)

    def _list(self) -> list[Recording]:
        found: list[Recording] = []
        for meta in self.directory.glob("*.json"):
            try:
                found.append(self._read(meta))
            except (RecordingError, OSError) as exc:
                log.warning("skipping unreadable recording metadata %s: %s", meta.name, exc)
        return sorted(found, key=lambda r: r.started_at)

    async def purge(self) -> int:
        """Delete recordings older than the retention period; return how many went."""
        if self.retention_days is None:
            return 0
        cutoff = self._now() - timedelta(days=self.retention_days)
        return await asyncio.to_thread(self._purge, cutoff)

    def _purge(self, cutoff: datetime) -> int:
        deleted = 0
        for recording in self._list():
            if recording.started_at < cutoff and recording.call_id not in self._active:
                recording.path.unlink(missing_ok=True)
                (self.directory / f"{self.file_stem(recording.call_id)}.json").unlink()
                deleted += 1
        # Files a crash left behind mid-call, judged by their age on disk.
        for partial in self.directory.glob("*.part"):
            modified = datetime.fromtimestamp(partial.stat().st_mtime, UTC)
            if modified < cutoff:
                partial.unlink(missing_ok=True)
                deleted += 1
        if deleted:
            log.info("retention deleted %d recordings older than %s", deleted, cutoff.date())
        return deleted

    async def close(self) -> None:
        """Wait for pending writes and stop the writer thread."""
        await asyncio.to_thread(self._writer.shutdown, True)
