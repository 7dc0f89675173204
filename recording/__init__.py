"""Call recordings: stereo WAV files (caller left, agent right), metadata and retention.

Use: `recorder = store.start(call_id, "PCMU")`, then `recorder.feed(side, rtp_packet)` for
every packet (a relay's tee), `recorder.pause()` / `recorder.resume()`, and finally
`recording = await recorder.finish()`. The composition root calls
`setup(app, RecordingStore(settings.data_dir / "recordings", retention_days=...))`.
"""

from recording.model import Channel, Recording, RecordingCodec, RecordingError
from recording.recorder import Recorder
from recording.setup import RECORDINGS, setup
from recording.store import RecordingStore

__all__ = [
    "RECORDINGS",
    "Channel",
    "Recorder",
    "Recording",
    "RecordingCodec",
    "RecordingError",
    "RecordingStore",
    "setup",
]
