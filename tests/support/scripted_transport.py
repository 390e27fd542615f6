"""An in-memory transport for protocol-level tests (httpcore's MockStream idea).

`ScriptedTransport(script)` plays the server's side from a transcript: each
item of `script` is bytes the server sends (split into lines as the socket
transport splits them) or a `TransportError` raised by the read that reaches
it. What the client writes is recorded in `writes`; when the script runs
out, a read gets end-of-file, as from a server that closed. No sockets, no
threads, no waiting: a test runs in microseconds and sees every byte.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import Iterable

from tclbridge.smtp.protocol import LineBuffer
from tclbridge.smtp.transport import EOF_DIAGNOSTIC, TransportError


class ScriptedTransport:
    def __init__(self, script: Iterable[bytes | TransportError] = (),
                 tls_error: BaseException | None = None) -> None:
        self._script: deque[bytes | TransportError] = deque(script)
        self._buffer = LineBuffer()
        self._lines: deque[str] = deque()
        self._tls_error = tls_error
        self.writes: list[bytes] = []
        self.events: list[str] = []  # "write", "read", "tls", "abort", "close", in order
        self.is_tls = False
        self.tls_version: str | None = None
        self.closed = False
        self.aborted: bytes | None = None

    # -- Transport -----------------------------------------------------------------

    def read_line(self, timeout: float | None) -> str:
        self.events.append("read")
        while not self._lines:
            if not self._script:
                raise TransportError(EOF_DIAGNOSTIC)
            item = self._script.popleft()
            if isinstance(item, TransportError):
                raise item
            self._lines.extend(self._buffer.feed(item))
        return self._lines.popleft()

    def write(self, data: bytes, timeout: float | None) -> None:
        if self.closed:
            raise TransportError("error writing to server: bad file descriptor")
        self.events.append("write")
        self.writes.append(bytes(data))

    def start_tls(self, context: ssl.SSLContext, server_hostname: str,
                  timeout: float | None) -> None:
        self.events.append("tls")
        if self._tls_error is not None:
            raise self._tls_error
        self.is_tls = True
        self.tls_version = "TLSv1.3"

    def close(self) -> None:
        self.events.append("close")
        self.closed = True

    def abort(self, data: bytes) -> None:
        self.events.append("abort")
        self.aborted = data if not self.closed else b""
        self.closed = True

    def peer_is_loopback(self) -> bool:
        return True

    def local_address(self) -> str:
        return "127.0.0.1:40000"

    # -- for the tests ---------------------------------------------------------------

    @property
    def commands(self) -> list[str]:
        """The command lines written (a DATA stream counts as one item)."""
        return [w.decode("utf-8", "replace").removesuffix("\r\n") for w in self.writes]

    @property
    def unread(self) -> int:
        """Script items never read (a reply the client did not wait for)."""
        return len(self._script) + len(self._lines)

    def connector(self, host: str, port: int, timeout: float) -> ScriptedTransport:
        """A `ConnectSettings.connect` that hands out this transport."""
        return self
