"""A bare SMTP client on a socket, for tests that send DATA exactly as given
(pre-stuffed, split where they like, cut off halfway): smtplib would stuff
the dots and add the final one itself."""

from __future__ import annotations

import socket
import sys
import time

TIMEOUT = 30.0


class WireClient:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""
        self.greeting = self.reply()

    def reply(self) -> tuple[int, str]:
        """The next reply: its code and its lines' text joined by newlines."""
        lines = []
        while True:
            while b"\r\n" not in self._buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {lines!r}")
                self._buffer += chunk
            line, self._buffer = self._buffer.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(text[4:] for text in lines)

    def command(self, line: str) -> tuple[int, str]:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def envelope(self, size: int | None = None) -> None:
        """EHLO, MAIL (with SIZE= when given), RCPT, each expected to succeed."""
        assert self.command("EHLO wire")[0] == 250
        declared = "" if size is None else f" SIZE={size}"
        assert self.command(f"MAIL FROM:<a@x>{declared}") == (250, "OK")
        assert self.command("RCPT TO:<b@y>") == (250, "OK")

    def data(self, wire: bytes, *, pieces: tuple[int, ...] = ()) -> tuple[int, str]:
        """DATA, then `wire` (already dot-stuffed, with its final ".\\r\\n"),
        sent split at the offsets in `pieces`, a pause between the parts."""
        assert self.command("DATA")[0] == 354
        start = 0
        for offset in (*pieces, len(wire)):
            self.sock.sendall(wire[start:offset])
            start = offset
            if offset != len(wire):
                time.sleep(0.02)  # let the server read this part on its own
        return self.reply()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# How this Python's smtplib writes MAIL and RCPT: "mail FROM:", "rcpt TO:"
# until 3.13, "mail from:", "rcpt to:" since. The recorder keeps what the
# client sent, so tests that use smtplib expect its spelling.
_LOWER = sys.version_info >= (3, 13)
SMTPLIB_MAIL = "mail from:" if _LOWER else "mail FROM:"
SMTPLIB_RCPT = "rcpt to:" if _LOWER else "rcpt TO:"
