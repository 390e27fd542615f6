"""Bounded waits on a running child process: what it has written so far."""

from __future__ import annotations

import os
import select
import time
from typing import IO


def read_until(stream: IO[bytes], needle: bytes, timeout: float = 30.0) -> bytes:
    """Read `stream` (a pipe from a child, binary, unbuffered) until `needle`
    has arrived, the child closed it, or `timeout` passed; what was read.
    Reads no further than needed, so the child may block on a full pipe."""
    fd = stream.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 1)  # byte by byte: never past the needle
        if not chunk:
            break
        data += chunk
    return data
