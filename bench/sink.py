"""What the benchmarks' discard sink (tests/support/discard_sink.py, shared
with the tests that measure a client's memory or writes) can absorb, and
the sink in a process of its own (`python -m bench.sink serve`).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.discard_sink import RECV_SIZE, DiscardSink

# Where `python -m bench...` finds the package, whatever the caller's cwd.
ROOT = Path(__file__).resolve().parent.parent


# -- what the sink can absorb -------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    """Measured with a raw socket client in another process."""

    mb_per_s: float  # one large DATA, sent in 1 MiB writes
    messages_per_s: float  # small messages, a new connection each
    cpu_per_message: float  # seconds of the sink thread's CPU per small message

    def describe(self) -> str:
        return (
            f"absorbs {self.mb_per_s:,.0f} MB/s of DATA and "
            f"{self.messages_per_s:,.0f} small messages/s (a new connection each) from a raw "
            f"socket client; its own CPU time per message, {self.cpu_per_message * 1000:.2f} ms, "
            f"would allow {1 / self.cpu_per_message:,.0f}/s"
        )


def measure_capacity(sink: DiscardSink, megabytes: int = 200, messages: int = 500) -> Capacity:
    """Blast `sink` from a child process (so the client does not share this
    process's interpreter with the sink's thread): one large DATA, then
    small messages, whose cost in the sink thread's CPU time is noted."""

    def blast(megabytes: int, messages: int) -> float:
        argv = ["blast", str(sink.port), str(megabytes), str(messages)]
        proc = subprocess.run(
            [sys.executable, "-m", "bench.sink", *argv],
            capture_output=True, text=True, timeout=300, check=True, cwd=ROOT,
        )
        return float(proc.stdout)

    mb_per_s = blast(megabytes, 0)
    cpu_before = sink.cpu_seconds
    messages_per_s = blast(0, messages)
    cpu_per_message = (sink.cpu_seconds - cpu_before) / messages
    return Capacity(mb_per_s, messages_per_s, max(cpu_per_message, 1e-6))


def _expect(sock: socket.socket, code: bytes) -> None:
    """Read one (maybe multi-line) reply and check its code."""
    reply = b""
    while True:
        more = sock.recv(4096)
        if not more:
            raise ConnectionError("sink closed the connection")
        reply += more
        if reply.endswith(b"\r\n") and reply[:-2].rsplit(b"\r\n", 1)[-1][3:4] != b"-":
            break
    if not reply.startswith(code):
        raise ConnectionError(f"sink replied {reply!r}")


def _transaction(port: int, body: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _expect(sock, b"220")
        for command in (b"EHLO blaster", b"MAIL FROM:<a@b.c>", b"RCPT TO:<d@e.f>"):
            sock.sendall(command + b"\r\n")
            _expect(sock, b"250")
        sock.sendall(b"DATA\r\n")
        _expect(sock, b"354")
        view = memoryview(body)
        for start in range(0, len(body), RECV_SIZE):
            sock.sendall(view[start : start + RECV_SIZE])
        sock.sendall(b"\r\n.\r\n")
        _expect(sock, b"250")
        sock.sendall(b"QUIT\r\n")
        _expect(sock, b"221")


def _blast(port: int, megabytes: int, messages: int) -> float:
    """One DATA of `megabytes` (MB/s), or `messages` small ones (per second)."""
    if megabytes:
        line = b"A" * 76 + b"\r\n"
        body = line * (megabytes * (1 << 20) // len(line))
        start = time.perf_counter()
        _transaction(port, body)
        return len(body) / (1 << 20) / (time.perf_counter() - start)
    small = b"Subject: hi\r\n\r\nhello\r\n"
    start = time.perf_counter()
    for _ in range(messages):
        _transaction(port, small)
    return messages / (time.perf_counter() - start)


def _serve_until_stdin_closes() -> None:
    """A sink in a process of its own (for the profiler): prints its port,
    serves until stdin is closed, then prints how many messages it got."""
    with DiscardSink() as sink:
        print(sink.port, flush=True)
        sys.stdin.read()
        print(len(sink.data_sizes), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        _serve_until_stdin_closes()
    else:
        port_arg, mb_arg, count_arg = sys.argv[2:5]
        print(_blast(int(port_arg), int(mb_arg), int(count_arg)))
