"""Call recordings: stereo WAV files (caller left, agent right), metadata and retention.

Use: `recorder = store.start(call_id, "PCMU")`, then `recorder.feed(side, rtp_packet)` for
every packet (a relay's tee), `recorder.pause()` / `recorder.resume()`, and finally
`recording = await recorder.finish()`.
"""

from recording.model import Channel, Recording, RecordingCodec, RecordingError
from recording.recorder import Recorder
from recording.store import RecordingStore

__all__ = ["Channel", "Recorder", "Recording", "RecordingCodec", "RecordingError", "RecordingStore"]
