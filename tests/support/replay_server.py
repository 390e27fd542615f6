"""A raw server on 127.0.0.1 that replays canned bytes, for tests that feed
the client arbitrary or truncated replies (tests/test_fuzz.py,
tests/test_secrets.py)."""

from __future__ import annotations

import socket
from functools import partial

from tests.support.loopback import LoopbackServer


class ReplayServer:
    """Sends `replies` one after the other, the first on connect and the next
    after each line the client sends (or after `silence` seconds without
    one), then closes the connection. `received` keeps what each
    connection's client sent. Serves one connection at a time from creation
    until `close()`."""

    def __init__(self, silence: float = 0.02) -> None:
        self.silence = silence
        self.replies: list[bytes] = []
        self.received: list[bytearray] = []
        self._server = LoopbackServer(self._accept, concurrent=False, name="replay-server")
        self.port = self._server.port
        self._server.start()

    def close(self) -> None:
        self._server.close()

    def _accept(self, conn: socket.socket) -> partial[None]:
        received = bytearray()
        self.received.append(received)
        return partial(self._talk, conn, list(self.replies), received)

    def _talk(self, conn: socket.socket, replies: list[bytes], received: bytearray) -> None:
        conn.settimeout(self.silence)
        try:
            for reply in replies:
                conn.sendall(reply)
                line_end = len(received)
                while b"\n" not in received[line_end:]:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    received += chunk
        except (TimeoutError, OSError):
            pass
