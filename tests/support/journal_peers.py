"""Real TCP connections for journal tests: a child may record only a
connection of its own (tclbridge.socket_owner checks /proc), so a test that
plays a child holds one open and names its local address."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager


@contextmanager
def own_connections(count: int = 1) -> Iterator[list[str]]:
    """`count` TCP connections on 127.0.0.1, held open by this process: their
    local addresses ("127.0.0.1:PORT", as the capture server sees its peers)."""
    with ExitStack() as stack:
        listener = stack.enter_context(socket.create_server(("127.0.0.1", 0), backlog=count))
        addresses = []
        for _ in range(count):
            client = stack.enter_context(socket.create_connection(listener.getsockname()))
            stack.enter_context(listener.accept()[0])
            host, port = client.getsockname()[:2]
            addresses.append(f"{host}:{port}")
        yield addresses
