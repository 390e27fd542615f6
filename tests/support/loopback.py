"""A TCP server on 127.0.0.1 for the discard sink (benchmarks and tests) and the raw
servers: socketserver's accept loop in a daemon thread, stopped with a
bounded wait so a client that stays connected never hangs the caller."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator

Serve = Callable[[], None]
# How often the accept loop looks for a stop request: what close() waits for.
POLL_INTERVAL = 0.02


class LoopbackServer(socketserver.TCPServer):
    """Listens on a free port of 127.0.0.1 (`port`) while entered.

    For each connection, `accept(conn)` runs in the serving thread, in the
    order connections arrive (so it may number them or note them), and
    returns what serves the connection: run in a daemon thread of its own
    (`concurrent`), or else before the next connection is accepted. The
    connection is closed when that returns."""

    allow_reuse_address = True

    def __init__(
        self,
        accept: Callable[[socket.socket], Serve],
        *,
        concurrent: bool = True,
        backlog: int = 128,  # what socket.listen() picks by default
        name: str = "loopback-server",
    ) -> None:
        self.request_queue_size = backlog
        super().__init__(("127.0.0.1", 0), socketserver.BaseRequestHandler)
        self.port: int = self.server_address[1]
        self.connection_threads: list[threading.Thread] = []
        self._accept = accept
        self._concurrent = concurrent
        self._serving = threading.Thread(
            target=self.serve_forever, args=(POLL_INTERVAL,), name=name, daemon=True
        )

    def start(self) -> LoopbackServer:
        self._serving.start()
        return self

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting and give the serving thread and each connection's
        thread `timeout` seconds to finish; one still busy with a client is
        left behind (it is a daemon)."""
        if self._serving.is_alive():
            # shutdown() waits for the connection being served, however long.
            stopper = threading.Thread(target=self.shutdown, daemon=True)
            stopper.start()
            stopper.join(timeout)
        self.server_close()
        for thread in list(self.connection_threads):
            thread.join(timeout)

    def process_request(self, request: socket.socket, client_address: object) -> None:
        serve = self._accept(request)
        if not self._concurrent:
            self._serve(serve, request)
            return
        thread = threading.Thread(target=self._serve, args=(serve, request), daemon=True)
        self.connection_threads.append(thread)
        thread.start()

    def _serve(self, serve: Serve, request: socket.socket) -> None:
        try:
            serve()
        finally:
            self.close_request(request)


@contextlib.contextmanager
def unlistened_port() -> Iterator[int]:
    """A port of 127.0.0.1 that refuses connections, held (bound, never
    listening) while entered: a port merely closed again can be handed to the
    test's own servers by bind(0), which then answer where a refusal was meant."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
