"""A minimal SMTP sink that discards DATA as it arrives (keeps no message),
for tests and benchmarks that measure the client's memory or writes."""

from __future__ import annotations

import socket
import threading


class DiscardSink:
    """Accepts every command; counts the bytes of each DATA it discarded."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.data_sizes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DiscardSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(10)
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        conn.sendall(b"220 sink\r\n")
        buffer = b""
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                return
            buffer += chunk
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
        size = 0
        tail = b"\r\n" + buffer
        while b"\r\n.\r\n" not in tail:
            size += max(0, len(tail) - 4)
            tail = tail[-4:] + conn.recv(1 << 20)
        end = tail.index(b"\r\n.\r\n")
        self.data_sizes.append(size + end)
        return tail[end + 5 :]
