"""The byte side of the recording server (tclbridge/recorder.py): one
connection as an asyncio Protocol with its own read buffer.

It reads a command line (bounded, a longer one is read to its end and
reported, not kept whole), reads DATA up to CRLF.CRLF in pieces as they
arrive without taking a byte past it (a pipelining client's next command
stays in the buffer), writes with back-pressure, and turns the connection
into TLS in place (STARTTLS) with `loop.start_tls`. Only asyncio's public
API is used, so it behaves the same on every Python version.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable

# A command line may hold this many bytes before its LF (asyncio's
# StreamReader limit aiosmtpd used: RFC 5321's 1000 + a transparent dot).
COMMAND_LIMIT = 1001
KEEP_LIMIT = 65536  # the most kept of an over-long line (memory bound)
# Reading pauses while this much is buffered (a client that sends faster than
# the server stores), and resumes below half of it.
BUFFER_LIMIT = 1 << 20
DATA_END = b"\r\n.\r\n"


class Wire(asyncio.Protocol):
    """One connection. `on_open(wire)` is called once it is made (for an
    implicit TLS listener: once the handshake is done); `on_close(wire)`
    when it is lost. Reads raise EOFError once the client has closed and the
    buffer holds no whole answer, and after `idle` seconds without a byte."""

    def __init__(self, on_open: Callable[[Wire], None], on_close: Callable[[Wire], None],
                 idle: float) -> None:
        self.transport: asyncio.Transport | None = None
        self._raw: asyncio.Transport | None = None  # the socket's, under any TLS
        self._on_open, self._on_close = on_open, on_close
        self._idle = idle
        self._buffer = bytearray()
        self._eof = False
        self._reading = True
        self._data_ready: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    # -- asyncio's callbacks -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = self._raw = transport
        self._on_open(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._reading and len(self._buffer) > BUFFER_LIMIT and self.transport is not None:
            self.transport.pause_reading()
            self._reading = False
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self.transport = None
        self._wake_reader()
        self.resume_writing()  # a writer waiting to drain learns the connection is gone
        self._on_close(self)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def _wake_reader(self) -> None:
        if self._data_ready is not None and not self._data_ready.done():
            self._data_ready.set_result(None)

    # -- reading ---------------------------------------------------------------------

    async def _more(self) -> None:
        """Wait for bytes beyond those buffered (EOFError: none will come)."""
        if self._eof:
            raise EOFError("the client closed the connection")
        self._data_ready = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._data_ready, self._idle)
        except asyncio.TimeoutError:
            raise EOFError("the client was idle too long") from None
        finally:
            self._data_ready = None

    def _take(self, count: int) -> bytes:
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        if not self._reading and len(self._buffer) < BUFFER_LIMIT // 2 and self.transport:
            self.transport.resume_reading()
            self._reading = True
        return taken

    async def read_line(self) -> tuple[bytes, bool]:
        """The next line with its LF, and False; or, for a line over
        COMMAND_LIMIT, its first KEEP_LIMIT bytes and True."""
        while True:
            end = self._buffer.find(b"\n")
            if 0 <= end <= COMMAND_LIMIT:
                return self._take(end + 1), False
            if end > COMMAND_LIMIT or len(self._buffer) > COMMAND_LIMIT:
                return await self._read_long_line(), True
            await self._more()

    async def _read_long_line(self) -> bytes:
        kept = b""
        while True:
            end = self._buffer.find(b"\n")
            piece = self._take(len(self._buffer) if end < 0 else end + 1)
            kept = (kept + piece[: max(0, KEEP_LIMIT - len(kept))])
            if end >= 0:
                return kept
            await self._more()

    async def data_pieces(self) -> AsyncIterator[bytes]:
        """DATA as it arrives, in pieces, as on the wire (dot-stuffed, CRLF),
        without its final ".\\r\\n" and without a byte past it.

        DATA starts at a line start, so its end may be ".\\r\\n" at once. Bytes
        are handed on only when no end can begin among them: the last four
        buffered wait for the next read (an end is five bytes)."""
        before = b"\r\n"  # the last bytes handed on (up to 4): a line start at first
        while True:
            seam = before + bytes(self._buffer[:4])
            at = seam.find(DATA_END)
            if at < 0 and (found := self._buffer.find(DATA_END)) >= 0:
                at = len(before) + found
            if at >= 0:  # the end's CRLF closes the last line: it is DATA's
                data = self._take(at + 2 - len(before)) if at + 2 > len(before) else b""
                self._take(len(DATA_END) - 2 - max(0, len(before) - at - 2))
                if data:
                    yield data
                return
            if len(self._buffer) > 4:
                data = self._take(len(self._buffer) - 4)
                before = (before + data)[-4:]
                yield data
            await self._more()

    def discard_buffer(self) -> None:
        self._buffer.clear()

    # -- writing ---------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        """Write and wait while the client does not read (back-pressure). To a
        client that has gone the bytes are dropped: what it sent before it
        went is still read, so a record holds every line it sent (a client
        may write RSET and QUIT and close without waiting for replies)."""
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(data)
        if self._writable is not None and not self._writable.done():
            await self._writable

    # -- closing and TLS ---------------------------------------------------------------

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Close at once, without flushing to a client that does not read."""
        for transport in (self.transport, self._raw):
            if transport is not None:
                transport.abort()

    def pause_reading(self) -> None:
        if self.transport is not None and self._reading:
            self.transport.pause_reading()
            self._reading = False

    async def start_tls(self, context: ssl.SSLContext, timeout: float) -> ssl.SSLObject:
        """The connection becomes TLS (server side). Whatever the client sent
        before the handshake is dropped (RFC 3207 4.2; CVE-2011-0411). Raises
        OSError (ssl.SSLError), ConnectionError or asyncio.TimeoutError."""
        assert self.transport is not None
        self.pause_reading()
        self.discard_buffer()
        loop = asyncio.get_running_loop()
        tls = await asyncio.wait_for(
            loop.start_tls(self.transport, self, context, server_side=True,
                           ssl_handshake_timeout=timeout),
            timeout)
        if tls is None:
            raise ConnectionResetError("connection closed during the TLS handshake")
        self.transport = tls
        self._reading = True  # start_tls reads again once the handshake is done
        return tls.get_extra_info("ssl_object")
