"""One connection's command/reply exchange with tcllib's semantics.

tcllib never raises for a dead connection: every command after a timeout,
EOF or read error gets a reply with code 400 and the diagnostic of that first
failure. Scripts see those replies (as refused recipients or a return code 7),
so the same rule is kept here, in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tclbridge.chunks import coalesce
from tclbridge.smtp.protocol import Reply, ReplyParser, encode_command
from tclbridge.smtp.transport import Transport, TransportError

# tcllib never waits longer than this for one reply line.
MAX_WAIT = 600
# RSET/QUIT on abort are written without waiting for replies; the write
# itself still gets a bound.
ABORT_WRITE_WAIT = 10

DebugLog = Callable[[str], None]


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
        parser = ReplyParser()
        while True:
            if self.failure is not None:
                return Reply(400, self.failure)
            try:
                line = self.transport.read_line(self._deadline(secs))
            except TransportError as exc:
                self.failure = str(exc)
                self.log(f"    ... {self.failure} ...")
                continue
            self.log(f"<-- {line}")
            reply = parser.feed(line)
            if reply is not None:
                return reply

    def talk(self, secs: float | str, command: str, *, shown: str | None = None) -> Reply | None:
        """Send one command and wait `secs` for the reply (0: do not wait).
        The log shows `shown` instead of the command where that is given
        (AUTH payloads are never logged)."""
        self.log(f"--> {command if shown is None else shown} (wait upto {secs} seconds)")
        failed = self.write(encode_command(command), float(secs) or ABORT_WRITE_WAIT)
        if failed is not None:
            return failed
        if float(secs) == 0:
            return None
        return self.hear(float(secs))

    def write(self, data: bytes, secs: float) -> Reply | None:
        try:
            self.transport.write(data, self._deadline(secs))
        except TransportError as exc:
            return Reply(400, str(exc), plain=True)
        return None

    def _deadline(self, secs: float) -> float:
        return min(secs, MAX_WAIT) * self._scale

    def write_stream(self, chunks: Iterable[bytes], chunk_size: int, secs: float) -> None:
        """Write an encoded stream in pieces of about `chunk_size` bytes, so a
        message costs few syscalls and no small trailing segment; each piece
        must go out within `secs`."""
        for block in coalesce(chunks, chunk_size):
            self.transport.write(block, self._deadline(secs))

    def close(self) -> None:
        self.transport.close()
