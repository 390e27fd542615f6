"""A program on a pseudo-terminal, as a person at a terminal runs it: what
it writes is read with bounded waits, and input goes in line by line."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class PtySession:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        master, slave = os.openpty()
        self.master = master
        self.transcript = b""
        try:
            self.proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave,
                                         env=dict(env), cwd=cwd, start_new_session=True)
        finally:
            os.close(slave)

    def expect(self, suffix: bytes, timeout: float = 30.0, after: int = 0) -> None:
        """Read until the transcript, longer than `after` bytes, ends with
        `suffix`; AssertionError with the transcript if it does not within
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.transcript) <= after or not self.transcript.endswith(suffix):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError(f"no {suffix!r} after {self.transcript!r}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the program ended and closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before {suffix!r}: {self.transcript!r}")
            self.transcript += chunk

    def send(self, data: bytes, then: bytes) -> None:
        """Type `data`, then wait for what follows to end with `then`."""
        start = len(self.transcript)
        os.write(self.master, data)
        self.expect(then, after=start)

    def finish(self, data: bytes = b"", timeout: float = 30.0) -> int:
        """Type `data` (say `exit` or Ctrl-D), read the rest; the exit status."""
        if data:
            os.write(self.master, data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not select.select([self.master], [], [], deadline - time.monotonic())[0]:
                break
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.transcript += chunk
        try:
            return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running: {self.transcript!r}") from None
        finally:
            self.close()

    def close(self) -> None:
        """End the program if it still runs, and let go of the terminal."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def __enter__(self) -> PtySession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
