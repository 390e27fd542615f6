"""One connection's command/reply exchange with tcllib's semantics.

Each step is checked against the connection's state (tclbridge.smtp.states)
and waits as long as tcllib's rules say (tclbridge.smtp.rules). `talk`
sends a command and returns its reply; `send_only` writes commands without
reading any reply, which tcllib does only on its way out (an abort).

tcllib never raises for a dead connection: every command after a timeout,
EOF or read error gets a reply with code 400 and the diagnostic of that first
failure. Scripts see those replies (as refused recipients or a return code 7),
so the same rule is kept here, in one place.
"""

from __future__ import annotations

import ssl
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tclbridge.chunks import coalesce
from tclbridge.smtp.protocol import Reply, ReplyParser, encode_command
from tclbridge.smtp.rules import TCLLIB, TcllibRules
from tclbridge.smtp.states import ConnectionState, Event, State
from tclbridge.smtp.transport import Transport, TransportError

# The most a whole reply may hold (a 1 MB EHLO line still passes).
MAX_REPLY = 4 << 20

DebugLog = Callable[[str], None]


def stderr_debug_log(line: str) -> None:
    """tcllib's -debug 1: each line on stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _nowhere(line: str) -> None:
    """-debug 0: no log."""


def debug_log(debug: DebugLog | None) -> DebugLog:
    """Where -debug lines go: `debug`, or nowhere when it is None."""
    return _nowhere if debug is None else debug


@dataclass(frozen=True)
class Command:
    """One command line; `shown` is what the -debug log shows instead
    (AUTH payloads are never logged)."""

    event: Event
    line: str
    shown: str | None = None

    @classmethod
    def plain(cls, event: Event) -> Command:
        """A command that is its verb alone (DATA, RSET, QUIT, ...)."""
        return cls(event, event.value)


class Conversation:
    def __init__(
        self,
        transport: Transport,
        debug: DebugLog | None,
        timeout_scale: float,
        rules: TcllibRules = TCLLIB,
    ) -> None:
        self.transport = transport
        self.rules = rules
        self.log = debug_log(debug)
        self._scale = timeout_scale
        self._state = ConnectionState()
        self.failure: str | None = None  # the first read failure, sticky

    @property
    def state(self) -> State:
        return self._state.state

    def deadline_in(self, secs: float) -> float:
        """The monotonic time by which a wait of tcllib's `secs` ends."""
        return time.monotonic() + min(secs, self.rules.longest_wait) * self._scale

    # -- steps that read a reply --------------------------------------------------

    def greeting(self, deadline: float) -> Reply:
        move = self._state.begin(Event.GREETING)
        reply = self._hear_by(deadline)
        self._state.end(move, reply.code)
        return reply

    def talk(self, command: Command) -> Reply:
        """Send one command and wait tcllib's time for its reply."""
        move = self._state.begin(command.event)
        secs = self.rules.wait(command.event)
        shown = command.line if command.shown is None else command.shown
        self.log(f"--> {shown} (wait upto {secs} seconds)")
        deadline = self.deadline_in(secs)
        reply = self._write(encode_command(command.line), deadline)
        if reply is None:
            reply = self._hear_by(deadline)
        self._state.end(move, reply.code)
        return reply

    def end_reply(self, deadline: float) -> Reply:
        """The reply to the final dot, by the -maxsecs `deadline`."""
        move = self._state.begin(Event.END_REPLY)
        reply = self._hear_by(deadline)
        self._state.end(move, reply.code)
        return reply

    # -- steps that read none -----------------------------------------------------

    def start_tls(self, context: ssl.SSLContext, host: str, deadline: float) -> None:
        """The TLS handshake: before the greeting (-tlsimport) or after
        STARTTLS's 220. Raises what the transport raises."""
        move = self._state.begin(Event.TLS)
        self.transport.start_tls(context, host, max(0.0, deadline - time.monotonic()))
        self._state.end(move)

    def send_message(self, chunks: Iterable[bytes], chunk_size: int, deadline: float) -> None:
        """Write the DATA stream (final dot included) in pieces of about
        `chunk_size` bytes, so a message costs few syscalls and no small
        trailing segment; all of it must go out by `deadline`. Raises what
        the transport raises (the caller drops the connection)."""
        move = self._state.begin(Event.MESSAGE)
        for block in coalesce(chunks, chunk_size):
            self.transport.write(block, max(0.0, deadline - time.monotonic()))
        self._state.end(move)

    def send_only(self, commands: Sequence[Command]) -> None:
        """Write `commands` without waiting for replies (logged as waits of
        0 seconds) and close the connection at once: tcllib's abort. Allowed
        in any state, a closed connection too (nothing then goes out)."""
        for command in commands:
            self.log(f"--> {command.line} (wait upto 0 seconds)")
        self._state.close()
        self.transport.abort(b"".join(encode_command(c.line) for c in commands))

    def abort(self) -> None:
        """tcllib's abort, with the commands its rules name."""
        self.send_only([Command.plain(event) for event in self.rules.abort_commands])

    def drop(self, diagnostic: str) -> None:
        """The connection cannot go on (a half-written message): remember
        why, for every later reply, and close it without another byte."""
        self.failure = diagnostic
        self.close()

    def fail(self, diagnostic: str) -> None:
        """Record a failure the transport did not see (a TLS handshake that
        failed): later replies carry it."""
        self._fail(diagnostic)

    def close(self) -> None:
        self._state.close()
        self.transport.close()

    # -- I/O --------------------------------------------------------------------------

    def _hear_by(self, deadline: float) -> Reply:
        """Read one whole reply, all of it by `deadline` and at most
        MAX_REPLY bytes: a reply is bounded as a whole, not line by line."""
        parser = ReplyParser()
        size = 0
        while True:
            if self.failure is not None:
                return Reply(self.rules.lost_code, self.failure)
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

    def _write(self, data: bytes, deadline: float) -> Reply | None:
        """None once written; else tcllib's made-up reply for the failure."""
        try:
            self.transport.write(data, max(0.0, deadline - time.monotonic()))
        except TransportError as exc:
            return Reply(self.rules.lost_code, str(exc), plain=True)
        return None
