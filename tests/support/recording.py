"""Recording servers (tclbridge.recorder) set up the way tests use them."""

from __future__ import annotations

from tclbridge.recorder import RecordingServer, ServerScript


def scripted_server(**script: object) -> RecordingServer:
    """A recording server with these ServerScript fields; `with` starts it."""
    return RecordingServer(ServerScript(**script))  # type: ignore[arg-type]
