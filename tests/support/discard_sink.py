"""A minimal SMTP sink that discards DATA as it arrives (keeps no message),
for the benchmarks (bench/) and for tests that measure the client's memory
or writes.

It accepts every command, offers SIZE (as real relays do, so clients that
compute the size pay for it), reads DATA in 1 MiB pieces and only looks for
the terminating CRLF.CRLF, so that it is never what a client waits for.
`bench.sink.measure_capacity` says how much it can absorb.
"""

from __future__ import annotations

import socket
import time
from functools import partial

from tests.support.loopback import LoopbackServer

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
