"""SMTP wire logic without I/O: replies from lines, commands to bytes, and the
DATA stream encoder.

Replies are read the way tcllib reads them (one line at a time, a trailing
CR dropped, the text after the code trimmed), because scripts see the result:
a refused MAIL FROM comes back as `diagnostic TEXT args {...} code N`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tclbridge.listform import format_list

CRLF = b"\r\n"
# The bytes that end DATA. Always preceded by CRLF in what we send.
END_OF_DATA = b".\r\n"

_LEADING_INT = re.compile(r"\s*[+-]?\d+")


@dataclass(frozen=True)
class Reply:
    """A server reply as tcllib represents it."""

    code: int
    diagnostic: str
    args: tuple[str, ...] = ()
    # A reply tcllib made up itself (a write failed): its list has no `args`.
    plain: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


def reply_list(reply: Reply) -> list[str | list[str]]:
    """tcllib's reply list: what sendmessage returns for a refused MAIL,
    DATA or final dot, and raises with a greeting when -tlspolicy gives up.

    tcllib returns `[array get response]` for replies it read, whose order
    follows the array's insertion (args, code, diagnostic): Tcl prints
    `diagnostic X args {...} code N`. Replies it made up itself after a
    write failure are plain `code N diagnostic X` lists.
    """
    if reply.plain:
        return ["code", str(reply.code), "diagnostic", reply.diagnostic]
    return ["diagnostic", reply.diagnostic, "args", list(reply.args), "code", str(reply.code)]


def reply_text(reply: Reply) -> str:
    """The reply list as tcllib prints it (in -debug lines)."""
    return format_list(reply_list(reply))


class ReplyParser:
    """Collects reply lines until a reply is complete (tcllib's rules).

    Feed it lines (without CR/LF); it returns a Reply when the last line of
    a reply arrived, else None. Malformed lines end the reply with code 500.
    """

    def __init__(self) -> None:
        self._first: tuple[int, str] | None = None
        self._args: list[str] = []

    def feed(self, line: str) -> Reply | None:
        if len(line) < 3:
            return self._finish(Reply(500, f"response too short: {line}"))
        text = line[4:].strip()
        if self._first is None:
            match = _LEADING_INT.match(line[:3])
            if match is None:
                return self._finish(Reply(500, f"unrecognizable code: {line}"))
            self._first = (int(match.group()), text)
        else:
            self._args.append(text)
        if line[3:4] != "-":
            code, diagnostic = self._first
            return self._finish(Reply(code, diagnostic, tuple(self._args)))
        return None

    def _finish(self, reply: Reply) -> Reply:
        self._first = None
        self._args = []
        return reply


class LineBuffer:
    """Splits received bytes into lines the way Tcl's `gets` does on a binary
    channel: LF ends a line, a CR before it is dropped, bytes map 1:1 to
    characters."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[str]:
        self._pending += data
        if b"\n" not in data:
            return []
        *lines, rest = self._pending.split(b"\n")
        self._pending = bytearray(rest)
        return [line.removesuffix(b"\r").decode("latin-1") for line in lines]

    @property
    def pending(self) -> int:
        return len(self._pending)


def encode_command(command: str) -> bytes:
    """A command line as bytes: UTF-8 (RFC 6531). Tcl writes the low byte of
    each character, which truncates anything beyond U+00FF and makes Latin-1
    bytes of the rest; non-ASCII addresses reach this point only for a server
    that offers SMTPUTF8 (smtputf8.plan)."""
    return command.encode("utf-8") + CRLF


@dataclass
class DataEncoder:
    """Turns message bytes into a safe DATA stream, chunk by chunk.

    Every bare LF and bare CR becomes CRLF, a "." at the start of a line is
    doubled, and `finish()` makes sure the stream ends with CRLF before the
    terminating ".". So no sequence in a message (LF.LF, CR.CR, LF.CRLF) can
    end the data early on a lenient server.
    """

    _at_line_start: bool = True
    _held_cr: bool = False  # a CR at the end of the last chunk, LF may follow
    size: int = field(default=0)  # bytes emitted so far

    def encode(self, chunk: bytes) -> bytes:
        if self._held_cr:
            chunk = b"\r" + chunk
            self._held_cr = False
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            self._held_cr = True
        if not chunk:
            return b""
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        chunk = chunk.replace(b"\n", b"\r\n")
        # Looking for "." first is a memchr; the two-byte search is ~70 times
        # slower, and base64 bodies have no dots at all.
        if b"." in chunk and b"\n." in chunk:
            chunk = chunk.replace(b"\n.", b"\n..")
        if self._at_line_start and chunk.startswith(b"."):
            chunk = b"." + chunk
        self._at_line_start = chunk.endswith(b"\n")
        self.size += len(chunk)
        return chunk

    def finish(self) -> bytes:
        """The tail: a held CR, a closing CRLF if needed, and ".CRLF"."""
        tail = b""
        if self._held_cr:
            self._held_cr = False
            tail = CRLF
            self._at_line_start = True
        if not self._at_line_start:
            tail += CRLF
        tail += END_OF_DATA
        self.size += len(tail)
        return tail


def encode_data(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The whole DATA stream for a message, terminator included."""
    encoder = DataEncoder()
    for chunk in chunks:
        out = encoder.encode(chunk)
        if out:
            yield out
    yield encoder.finish()
