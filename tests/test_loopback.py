"""bench.loopback.LoopbackServer, which the benchmark sink and the tests' raw
servers (fault_server, replay_server, test_smuggling's RawTap) share."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from tests.support.loopback import LoopbackServer
from tests.support.waiting import wait_until


def greeter(
    order: list[bytes], release: threading.Event
) -> Callable[[socket.socket], Callable[[], None]]:
    """An accept function: notes each connection's first line in arrival
    order, then serves it by sending that line back once `release` is set."""

    def accept(conn: socket.socket) -> Callable[[], None]:
        conn.settimeout(5)
        line = conn.recv(100)
        order.append(line)

        def serve() -> None:
            release.wait(5)
            conn.sendall(line)

        return serve

    return accept


def connect(port: int, line: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(line)
    return sock


def test_concurrent_connections_are_served_side_by_side() -> None:
    order: list[bytes] = []
    release = threading.Event()
    with LoopbackServer(greeter(order, release)) as server:
        first = connect(server.port, b"one")
        time.sleep(0.1)
        second = connect(server.port, b"two")
        deadline = time.monotonic() + 5
        while len(order) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        # The first connection's serve() is still waiting; the second was accepted anyway.
        assert order == [b"one", b"two"]
        release.set()
        with first, second:
            assert (first.recv(100), second.recv(100)) == (b"one", b"two")
            # The server closes each connection once its serve() returned.
            assert (first.recv(100), second.recv(100)) == (b"", b"")


def test_sequential_connections_wait_their_turn() -> None:
    order: list[bytes] = []
    release = threading.Event()
    with LoopbackServer(greeter(order, release), concurrent=False) as server:
        first = connect(server.port, b"one")
        second = connect(server.port, b"two")
        assert wait_until(lambda: order == [b"one"])
        time.sleep(0.3)  # time enough for a concurrent server to take the second
        assert order == [b"one"]
        release.set()
        with first, second:
            assert first.recv(100) == b"one"
            assert second.recv(100) == b"two"
        assert order == [b"one", b"two"]


@pytest.mark.parametrize("concurrent", [True, False])
def test_close_does_not_wait_for_a_client_that_stays(concurrent: bool) -> None:
    stuck = threading.Event()

    def accept(conn: socket.socket) -> Callable[[], None]:
        return lambda: stuck.wait(30)

    server = LoopbackServer(accept, concurrent=concurrent).start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        time.sleep(0.1)
        started = time.monotonic()
        server.close(timeout=0.3)
        took = time.monotonic() - started
    stuck.set()
    assert took < 2
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5)
