"""A minimal SMTP sink that discards DATA as it arrives (keeps no message),
for the benchmarks and for tests that measure the client's memory or writes.

It accepts every command, offers SIZE (as real relays do, so clients that
compute the size pay for it), reads DATA in 1 MiB pieces and only looks for
the terminating CRLF.CRLF, so that it is never what a client waits for.
`measure_capacity` says how much it can absorb.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.loopback import LoopbackServer

# Where `python -m bench...` finds the package, whatever the caller's cwd.
ROOT = Path(__file__).resolve().parent.parent
RECV_SIZE = 1 << 20
END = b"\r\n.\r\n"
# Seconds a client may stay silent before the sink gives up on it: long
# enough for one that builds a 100 MB message in memory between two
# commands (tcllib does).
IDLE_LIMIT = 300


class DiscardSink:
    """Serves one connection at a time in a thread; `data_sizes` holds the
    size of each DATA it discarded, as sent (dot-stuffed, up to and with the
    CRLF before the final ".")."""

    def __init__(self) -> None:
        self._server = LoopbackServer(
            lambda conn: partial(self._serve, conn), concurrent=False, backlog=64,
            name="discard-sink",
        )
        self.port = self._server.port
        self.data_sizes: list[int] = []
        # CPU time the sink's thread spent serving (what it costs per message).
        self.cpu_seconds = 0.0
        self._window = bytearray(RECV_SIZE)

    def __enter__(self) -> DiscardSink:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(IDLE_LIMIT)
        started = time.thread_time()
        try:
            self._session(conn)
        except OSError:
            pass  # a client that went away; the next one is served
        self.cpu_seconds += time.thread_time() - started

    def _session(self, conn: socket.socket) -> None:
        conn.sendall(b"220 sink\r\n")
        buffer = b""
        window = self._window
        while True:
            count = conn.recv_into(window)
            if not count:
                return
            buffer += window[:count]
            while b"\r\n" in buffer:
                line, buffer = buffer.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb == b"DATA":
                    conn.sendall(b"354 go\r\n")
                    buffer = self._discard_data(conn, buffer)
                    conn.sendall(b"250 discarded\r\n")
                elif verb == b"EHLO":
                    conn.sendall(b"250-sink\r\n250 SIZE 0\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    def _discard_data(self, conn: socket.socket, buffer: bytes) -> bytes:
        """Read up to the end of DATA; return what came after it.

        Reads go into one reused buffer and are searched in place; only the
        last 4 bytes of each are kept, to find a terminator split across two
        reads."""
        # The CRLF that ended the DATA line counts as the start of a line.
        data = b"\r\n" + buffer
        offset = -2  # where data[0] is in the message
        window = self._window
        while (end := data.find(END)) < 0:
            keep = data[-4:]
            offset += len(data) - len(keep)
            count = conn.recv_into(window)
            if not count:
                raise ConnectionResetError("client closed inside DATA")
            if count >= 4 and END not in keep + window[:4] and window.find(END, 0, count) < 0:
                offset += len(keep) + count - 4
                data = bytes(window[count - 4 : count])
            else:
                data = keep + bytes(window[:count])
        # The CRLF before "." ends the last line of the message.
        self.data_sizes.append(offset + end + 2)
        return data[end + 5 :]


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
