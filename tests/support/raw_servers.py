"""Small misbehaving servers on plain sockets, for what the fault server's
dialogue cannot express."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable

import trustme

from tests.support.loopback import LoopbackServer


class PlaintextBeforeTlsServer:
    """Implicit TLS (port 465 style) whose end sends a plain-text greeting
    and replies before the handshake, as a man in the middle might; then it
    answers the handshake. Counts the TLS sessions that got that far."""

    FAKE = b"220 fake\r\n250 fake\r\n250 ok\r\n250 ok\r\n354 go\r\n250 accepted\r\n"

    def __init__(self, ca: trustme.CA) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(self._context)
        self.handshakes = 0
        self.lines_after_tls: list[bytes] = []
        self._server = LoopbackServer(self._accept, name="plaintext-first")
        self.port = self._server.port

    def __enter__(self) -> PlaintextBeforeTlsServer:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()

    def _accept(self, sock: socket.socket) -> Callable[[], None]:
        return lambda: self._serve(sock)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        try:
            sock.sendall(self.FAKE)
            tls = self._context.wrap_socket(sock, server_side=True)
            self.handshakes += 1
            tls.sendall(b"220 real\r\n")
            while data := tls.recv(4096):
                self.lines_after_tls.append(data)
        except (OSError, ssl.SSLError):
            pass


class Blackhole:
    """A listener on `host`:`port` whose accept queue is full, so that the
    kernel leaves further SYNs unanswered: a connect there hangs."""

    def __init__(self, host: str, port: int = 0) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((host, port))
        self.port = self._listener.getsockname()[1]
        self._listener.listen(0)
        self._filler = socket.create_connection((host, self.port))

    def close(self) -> None:
        self._filler.close()
        self._listener.close()


class SilentGreeting:
    """Accepts on `host`:`port` and never says anything."""

    def __init__(self, host: str, port: int) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((host, port))
        self._listener.listen(8)
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            while True:
                self._held.append(self._listener.accept()[0])
        except OSError:
            pass

    def close(self) -> None:
        self._listener.close()
        for sock in self._held:
            sock.close()
