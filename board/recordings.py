"""Call recordings for supervisors: play or download a call's WAV, role-checked and logged.

Recordings hold customers' voices, so only supervisors (and admins) get them, each request is
logged with who asked (never the customer's details), and the browser is told not to cache
them. The board does not know where recordings live: the composition root passes `find`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from agents import Role, current_session, requires

log = logging.getLogger(__name__)

RECORDING_PATH = "/recordings/{call_id}.wav"
FindRecording = Callable[[str], Awaitable[Path | None]]
FIND_RECORDING: web.AppKey[FindRecording] = web.AppKey("board.find_recording")
# Call ids are ours (telephony's sb-<hex>, or a test's); anything else is refused unread.
_CALL_ID = re.compile(r"[A-Za-z0-9._@-]{1,128}")


def recording_ref(call_id: str) -> str:
    """Return the reference written to the customer's history: the recording's page path."""
    return RECORDING_PATH.format(call_id=quote(call_id, safe=""))


def setup_recordings(app: web.Application, find: FindRecording) -> None:
    """Serve finished recordings found by `find(call_id)` at RECORDING_PATH (supervisors)."""
    app[FIND_RECORDING] = find
    app.router.add_get(RECORDING_PATH, play_recording)


@requires(Role.SUPERVISOR)
async def play_recording(request: web.Request) -> web.StreamResponse:
    """Send one call's stereo WAV (caller left, agent right)."""
    call_id = request.match_info["call_id"]
    if not _CALL_ID.fullmatch(call_id):
        raise web.HTTPBadRequest(text="not a call id")
    path = await request.app[FIND_RECORDING](call_id)
    if path is None or not path.is_file():
        raise web.HTTPNotFound(text="no recording for this call")
    session = await current_session(request)
    who = "?" if session is None else str(session.user.id)
    log.info("recording of call %s sent to user %s", call_id, who)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{call_id}.wav"',
        },
    )
