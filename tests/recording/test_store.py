"""The recording store: metadata lookup by call id, and retention."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from recording import RECORDINGS, Recording, RecordingCodec, RecordingError, RecordingStore, setup
from telephony.rtp.g711 import encode_ulaw
from tests.recording.audio import packet, tone


class Now:
    def __init__(self) -> None:
        self.value = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value


async def record(store: RecordingStore, call_id: str) -> Recording:
    recorder = store.start(call_id, RecordingCodec.PCMU)
    recorder.feed("caller", packet(encode_ulaw(tone(400, 160)), 0, 1))
    return await recorder.finish()


async def test_lookup_by_call_id_with_unsafe_characters(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    call_id = "a84b4c76e66710@pc33.example.com/../x"
    recording = await record(store, call_id)
    assert recording.path.parent == tmp_path
    assert recording.path.exists()
    found = await store.get(call_id)
    assert found == recording
    assert await store.get("another-call") is None
    # Two ids that look alike once made safe still get their own files.
    other = await record(store, "a84b4c76e66710@pc33.example.com/..?x")
    assert other.path != recording.path
    assert [r.call_id for r in await store.all()] == [call_id, other.call_id]
    await store.close()


async def test_refuses_double_start_and_unknown_codec(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    recorder = store.start("c1", "PCMU")
    assert store.active("c1") is recorder
    with pytest.raises(RecordingError, match="already"):
        store.start("c1", "PCMU")
    with pytest.raises(RecordingError, match="PCMU and PCMA"):
        store.start("c2", "G729")
    await recorder.finish()
    assert store.active("c1") is None
    await store.close()


async def test_retention_deletes_only_old_recordings(tmp_path: Path) -> None:
    now = Now()
    store = RecordingStore(tmp_path, retention_days=30, now=now)
    old = await record(store, "old-call")
    now.value += timedelta(days=20)
    recent = await record(store, "recent-call")
    # A crash left a partial file behind long ago.
    orphan = tmp_path / "crashed.wav.part"
    orphan.write_bytes(b"RIFF")
    stamp = (now.value - timedelta(days=90)).timestamp()
    os.utime(orphan, (stamp, stamp))
    now.value += timedelta(days=15)  # old is 35 days old, recent 15
    assert await store.purge() == 2
    assert not old.path.exists()
    assert await store.get("old-call") is None
    assert not orphan.exists()
    assert recent.path.exists()
    assert await store.get("recent-call") == recent
    assert await store.purge() == 0
    await store.close()


async def test_unreadable_metadata_is_skipped_and_reported(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    good = await record(store, "good")
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    assert await store.all() == [good]
    with pytest.raises(RecordingError, match="unreadable"):
        Recording.from_json('{"call_id": "x"}', tmp_path)
    await store.close()


def test_retention_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="retention"):
        RecordingStore(tmp_path, retention_days=0)


async def test_app_setup_purges_at_startup_and_closes_the_store(tmp_path: Path) -> None:
    now = Now()
    store = RecordingStore(tmp_path, retention_days=7, now=now)
    old = await record(store, "old")
    now.value += timedelta(days=8)
    app = web.Application()
    setup(app, store)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        assert app[RECORDINGS] is store
        assert not old.path.exists()
        fresh = await record(store, "fresh")
    finally:
        await runner.cleanup()
    assert fresh.path.exists()
    # The store's writer thread is gone: starting a new recording's writes fails.
    late = store.start("late", "PCMU")
    with pytest.raises(RecordingError, match="closed"):
        await late.finish()
