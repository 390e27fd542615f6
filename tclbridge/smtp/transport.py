"""Blocking socket transport: connect, read lines with a deadline, write in
few large pieces.

Errors carry the diagnostic text tcllib would put in a reply with code 400,
because that is what scripts end up seeing.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections import deque
from typing import Protocol

from tclbridge.smtp.protocol import LineBuffer

# The longest reply line we accept; a server sending more is broken or hostile.
MAX_LINE = 1 << 20
RECV_SIZE = 65536
# Body writes are gathered up to this size before a syscall.
WRITE_CHUNK = 256 * 1024

EOF_DIAGNOSTIC = "premature end-of-file from server"
TIMEOUT_DIAGNOSTIC = "read from server timed out"
# How long an aborted connection is kept, in the background, for the server
# to read our RSET and QUIT and close its end.
ABORT_LINGER = 2.0


class TransportError(Exception):
    """The connection failed; `str(exc)` is the diagnostic for the script."""


class TransportTimeout(TransportError):
    def __init__(self) -> None:
        super().__init__(TIMEOUT_DIAGNOSTIC)


class PlaintextBeforeTls(TransportError):
    """The server sent bytes before the TLS handshake that would be read as
    coming from inside TLS (STARTTLS response injection, CVE-2011-0411)."""

    def __init__(self) -> None:
        super().__init__(
            "the server sent data before the TLS handshake, which would have been read as "
            "coming from inside TLS (STARTTLS response injection); connection dropped"
        )


class Transport(Protocol):
    def read_line(self, timeout: float | None) -> str: ...
    def write(self, data: bytes, timeout: float | None) -> None: ...
    def start_tls(
        self, context: ssl.SSLContext, server_hostname: str, timeout: float | None
    ) -> None: ...
    def close(self) -> None: ...
    def abort(self, data: bytes) -> None: ...
    @property
    def is_tls(self) -> bool: ...
    @property
    def tls_version(self) -> str | None: ...
    def peer_is_loopback(self) -> bool: ...
    def local_address(self) -> str: ...


class SocketTransport:
    """One TCP (optionally TLS) connection to an SMTP server."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock: socket.socket = sock
        # Taken from the front: a deque, as list.pop(0) is quadratic in the
        # lines of one read (64 KB of bare LFs took 0.9 s).
        self._lines: deque[str] = deque()
        self._buffer = LineBuffer()
        self._closed = False
        self._lingering = False  # handed to the background close of an abort

    @classmethod
    def connect(cls, host: str, port: int, timeout: float | None) -> SocketTransport:
        """Connect to the first address of `host` that answers. `timeout`
        covers all of them together, as tcllib's one window does (not each
        address again, as `socket.create_connection` would)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            addresses = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise TransportError(f"couldn't open socket: {exc.strerror}") from exc
        except (UnicodeError, ValueError) as exc:
            # A name the resolver cannot even encode (e.g. "a..b").
            raise TransportError("couldn't open socket: Name or service not known") from exc
        failure: OSError = OSError("no address")
        for family, kind, proto, _, address in addresses:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TransportTimeout()
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(remaining)
                sock.connect(address)
            except TimeoutError as exc:
                sock.close()
                raise TransportTimeout() from exc
            except OSError as exc:
                sock.close()
                failure = exc
                continue
            # Commands are small and each waits for its reply: never let
            # Nagle hold one back. Bodies are coalesced by the session instead.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return cls(sock)
        raise TransportError(f"couldn't open socket: {_reason(failure)}")

    def read_line(self, timeout: float | None) -> str:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._lines:
            if self._closed:
                raise TransportError(EOF_DIAGNOSTIC)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TransportTimeout()
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(RECV_SIZE)
            except TimeoutError as exc:
                raise TransportTimeout() from exc
            except ssl.SSLError as exc:
                raise TransportError(f"error reading from server: {exc.reason or exc}") from exc
            except OSError as exc:
                raise TransportError(f"error reading from server: {_reason(exc)}") from exc
            if not data:
                self._closed = True
                continue
            self._lines.extend(self._buffer.feed(data))
            if self._buffer.pending > MAX_LINE:
                raise TransportError(f"reply line longer than {MAX_LINE} bytes")
        return self._lines.popleft()

    def write(self, data: bytes, timeout: float | None) -> None:
        """Send all of `data` within `timeout` seconds: a server that stops
        reading must not hang the script."""
        if timeout is not None and timeout <= 0:
            raise TransportTimeout()  # (a timeout of 0 would mean non-blocking)
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except TimeoutError as exc:
            raise TransportTimeout() from exc
        except OSError as exc:
            raise TransportError(f"error writing to server: {_reason(exc)}") from exc

    def start_tls(
        self, context: ssl.SSLContext, server_hostname: str, timeout: float | None
    ) -> None:
        """The TLS handshake. Nothing received before it may ever be used:
        what the server sent after its 220 (already buffered here, or
        waiting in the kernel) would otherwise be read as TLS-protected."""
        if self._lines or self._buffer.pending or self._kernel_has_data():
            raise PlaintextBeforeTls()
        if timeout is not None and timeout <= 0:
            raise TransportTimeout()
        self._sock.settimeout(timeout)
        self._sock = context.wrap_socket(self._sock, server_hostname=server_hostname)

    def _kernel_has_data(self) -> bool:
        try:
            self._sock.setblocking(False)
            return bool(self._sock.recv(1, socket.MSG_PEEK))
        except OSError:
            # Nothing there (EAGAIN), or a broken connection, which the
            # handshake reports itself.
            return False

    @property
    def is_tls(self) -> bool:
        return isinstance(self._sock, ssl.SSLSocket)

    @property
    def tls_version(self) -> str | None:
        """"TLSv1.3" and the like; None for a plain connection."""
        return self._sock.version() if isinstance(self._sock, ssl.SSLSocket) else None

    def peer_is_loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self._sock.getpeername()[0]).is_loopback
        except (OSError, ValueError):
            return False

    def local_address(self) -> str:
        """"host:port" of this end (what the server sees as the peer)."""
        try:
            host, port = self._sock.getsockname()[:2]
        except OSError:
            return ""
        return f"{host}:{port}"

    def close(self) -> None:
        if self._lingering:
            return  # the abort's background close owns the socket now
        try:
            self._sock.close()
        except OSError:
            pass

    def abort(self, data: bytes) -> None:
        """Write what fits of `data` without waiting and return at once, as
        tcllib does (its socket is non-blocking and it never reads the
        replies to an abort's RSET and QUIT). The socket is closed in the
        background once the server has read that and closed its end, so
        that no RST makes the server drop our last commands."""
        sock = self._sock
        try:
            sock.setblocking(False)
            sock.send(data)
        except (OSError, ValueError):
            pass
        self._lingering = True
        threading.Thread(target=_linger_close, args=(sock,), daemon=True,
                         name="smtp-abort-close").start()


def _linger_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(ABORT_LINGER)
        deadline = time.monotonic() + ABORT_LINGER
        while time.monotonic() < deadline and sock.recv(RECV_SIZE):
            pass
    except (OSError, ValueError):
        pass
    try:
        sock.close()
    except OSError:
        pass


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
