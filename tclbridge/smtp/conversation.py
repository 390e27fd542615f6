"""One connection's command/reply exchange with tcllib's semantics.

tcllib never raises for a dead connection: every command after a timeout,
EOF or read error gets a reply with code 400 and the diagnostic of that first
failure. Scripts see those replies (as refused recipients or a return code 7),
so the same rule is kept here, in one place.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable

from tclbridge.chunks import coalesce
from tclbridge.smtp.protocol import Reply, ReplyParser, encode_command
from tclbridge.smtp.transport import Transport, TransportError

# tcllib never waits longer than this for one reply line; the bridge counts
# it for the whole reply, so a server trickling "250-" lines cannot hold a
# script past it.
MAX_WAIT = 600
# The most a whole reply may hold (a 1 MB EHLO line still passes).
MAX_REPLY = 4 << 20

DebugLog = Callable[[str], None]


def stderr_debug_log(line: str) -> None:
    """tcllib's -debug 1: each line on stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class Conversation:
    def __init__(self, transport: Transport, debug: DebugLog | None, timeout_scale: float) -> None:
        self.transport = transport
        self._debug = debug
        self._scale = timeout_scale
        self.failure: str | None = None  # the first read failure, sticky

    def log(self, line: str) -> None:
        if self._debug is not None:
            self._debug(line)

    def hear(self, secs: float) -> Reply:
        return self.hear_by(self.deadline_in(secs))

    def deadline_in(self, secs: float) -> float:
        """The monotonic time by which a wait of tcllib's `secs` ends."""
        return time.monotonic() + min(secs, MAX_WAIT) * self._scale

    def hear_by(self, deadline: float) -> Reply:
        """Read one whole reply, all of it by `deadline` and at most
        MAX_REPLY bytes: a reply is bounded as a whole, not line by line."""
        parser = ReplyParser()
        size = 0
        while True:
            if self.failure is not None:
                return Reply(400, self.failure)
            try:
                line = self.transport.read_line(max(0.0, deadline - time.monotonic()))
            except TransportError as exc:
                self._fail(str(exc))
                continue
            self.log(f"<-- {line}")
            size += len(line) + 2
            reply = parser.feed(line)
            if reply is not None:
                return reply
            if size > MAX_REPLY:
                self._fail(f"reply longer than {MAX_REPLY} bytes")

    def _fail(self, diagnostic: str) -> None:
        self.failure = diagnostic
        self.log(f"    ... {diagnostic} ...")

    def talk(self, secs: float | str, command: str, *, shown: str | None = None) -> Reply:
        """Send one command and wait `secs` for the reply. The log shows
        `shown` instead of the command where that is given (AUTH payloads
        are never logged)."""
        self.log(f"--> {command if shown is None else shown} (wait upto {secs} seconds)")
        deadline = self.deadline_in(float(secs))
        failed = self.write(encode_command(command), deadline)
        if failed is not None:
            return failed
        return self.hear_by(deadline)

    def abort(self, *commands: str) -> None:
        """tcllib's abort: the commands written without waiting for replies
        (logged as waits of 0 seconds), then the connection closed at once."""
        for command in commands:
            self.log(f"--> {command} (wait upto 0 seconds)")
        self.transport.abort(b"".join(encode_command(c) for c in commands))

    def write(self, data: bytes, deadline: float) -> Reply | None:
        try:
            self.transport.write(data, max(0.0, deadline - time.monotonic()))
        except TransportError as exc:
            return Reply(400, str(exc), plain=True)
        return None

    def write_stream(self, chunks: Iterable[bytes], chunk_size: int, deadline: float) -> None:
        """Write an encoded stream in pieces of about `chunk_size` bytes, so a
        message costs few syscalls and no small trailing segment; all of it
        must go out by `deadline`."""
        for block in coalesce(chunks, chunk_size):
            self.transport.write(block, max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self.transport.close()
