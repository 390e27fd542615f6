"""Bounded waits for what a server sees after the client has returned."""

from __future__ import annotations

import time
from collections.abc import Callable

from tclbridge.recorder import RecordingServer


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def wait_until_closed(server: RecordingServer, timeout: float = 5.0) -> bool:
    """True once the server has seen every connection end (an aborted
    session's RSET and QUIT are read after sendmessage has returned)."""
    return wait_until(lambda: server.open_connections == 0, timeout)
