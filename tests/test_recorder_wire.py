"""The recording server's byte side (tclbridge/recorder_wire.py) on real
loopback sockets: lines, DATA ends split anywhere, pipelining, back-pressure,
idle clients, and STARTTLS dropping what came before the handshake."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import pytest

from tclbridge import recorder, recorder_wire
from tclbridge.recorder import RecordingServer, ServerScript
from tclbridge.recorder_wire import COMMAND_LIMIT, KEEP_LIMIT, Wire
from tests.support.tls_contexts import tls_pair

Handler = Callable[[Wire], Awaitable[object]]


async def _serve_one(handler: Handler, client: Callable[[int], Awaitable[None]],
                     idle: float = 5.0) -> object:
    """Serve one connection on 127.0.0.1 with `handler`, while `client(port)` talks."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[object] = loop.create_future()

    def opened(wire: Wire) -> None:
        async def run() -> None:
            try:
                result.set_result(await handler(wire))
            except BaseException as error:  # handed to the test
                result.set_exception(error)
            finally:
                wire.close()
        loop.create_task(run())

    server = await loop.create_server(lambda: Wire(opened, lambda _: None, idle), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await asyncio.wait_for(client(port), 20)
        return await asyncio.wait_for(result, 20)
    finally:
        server.close()


def _sender(*writes: bytes, pause: float = 0.02, then_close: bool = True,
            read: bool = False) -> Callable[[int], Awaitable[None]]:
    async def client(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for data in writes:
            writer.write(data)
            await writer.drain()
            await asyncio.sleep(pause)
        if read:
            await reader.read()
        if then_close:
            writer.close()
    return client


def test_lines_as_sent_split_and_pipelined() -> None:
    async def lines(wire: Wire) -> list[tuple[bytes, bool]]:
        return [await wire.read_line() for _ in range(4)]

    got = asyncio.run(_serve_one(lines, _sender(b"EH", b"LO x\r\nNOOP\nMAIL", b" FROM:<a>\r\n",
                                                b"x" * (COMMAND_LIMIT - 2) + b"\r\n")))
    assert got == [(b"EHLO x\r\n", False), (b"NOOP\n", False), (b"MAIL FROM:<a>\r\n", False),
                   (b"x" * (COMMAND_LIMIT - 2) + b"\r\n", False)]


def test_long_line_is_read_to_its_end_and_kept_bounded() -> None:
    async def lines(wire: Wire) -> list[tuple[bytes, bool]]:
        return [await wire.read_line() for _ in range(3)]

    long = b"y" * (3 * KEEP_LIMIT)
    got = asyncio.run(_serve_one(lines, _sender(b"x" * (COMMAND_LIMIT + 1) + b"\r\n",
                                                long[:5000], long[5000:] + b"\r\nQUIT\r\n")))
    assert got[0] == (b"x" * (COMMAND_LIMIT + 1) + b"\r\n", True)
    assert got[1] == (long[:KEEP_LIMIT], True)
    assert got[2] == (b"QUIT\r\n", False)


def _data_then_next(wire: Wire) -> Awaitable[tuple[bytes, bytes]]:
    async def read() -> tuple[bytes, bytes]:
        data = b"".join([piece async for piece in wire.data_pieces()])
        line, _ = await wire.read_line()
        return data, line
    return read()


@pytest.mark.parametrize("message", [b"", b"x\r\n", b"..stuffed\r\nbare\nlf\r\n.\nno end\r\n"])
def test_data_end_split_at_every_byte(message: bytes) -> None:
    stream = message + b".\r\nQUIT\r\n"
    for cut in range(len(stream) + 1):
        got = asyncio.run(_serve_one(_data_then_next, _sender(stream[:cut], stream[cut:])))
        assert got == (message, b"QUIT\r\n"), cut


def test_data_end_in_three_pieces_and_byte_by_byte() -> None:
    message = b"a\r\n.b\r\n" + b"L" * 5000 + b"."
    tail = b"\r\n.\r\nNOOP\r\n"
    got = asyncio.run(_serve_one(_data_then_next, _sender(message, b"\r", b"\n.\r\nNOOP\r\n")))
    assert got == (message + b"\r\n", b"NOOP\r\n")
    byte_by_byte = [tail[n : n + 1] for n in range(len(tail))]
    got = asyncio.run(_serve_one(_data_then_next, _sender(message, *byte_by_byte, pause=0.001)))
    assert got == (message + b"\r\n", b"NOOP\r\n")


def test_client_closing_inside_data_or_a_line_is_eof() -> None:
    async def data(wire: Wire) -> object:
        return b"".join([piece async for piece in wire.data_pieces()])

    with pytest.raises(EOFError):
        asyncio.run(_serve_one(data, _sender(b"partial\r\nmo")))
    with pytest.raises(EOFError):
        asyncio.run(_serve_one(lambda wire: wire.read_line(), _sender(b"HELO half")))


def test_idle_client_is_eof() -> None:
    async def line(wire: Wire) -> object:
        return await wire.read_line()

    async def silent(port: int) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.6)  # connected, saying nothing
        writer.close()

    with pytest.raises(EOFError, match="idle"):
        asyncio.run(_serve_one(line, silent, idle=0.2))


def test_reading_pauses_while_the_buffer_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that sends 8 MB to a server that does not read: the buffer
    stops near its limit (memory bound), and all arrives once it reads."""
    monkeypatch.setattr(recorder_wire, "BUFFER_LIMIT", 64 * 1024)
    total = 8 << 20
    seen: dict[str, int] = {}

    async def slow(wire: Wire) -> int:
        await asyncio.sleep(0.5)
        seen["buffered"] = len(wire._buffer)
        return sum([len(piece) async for piece in wire.data_pieces()])

    async def client(port: int) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"z" * total + b"\r\n.\r\n")
        await writer.drain()
        writer.close()

    got = asyncio.run(_serve_one(slow, client))
    assert got == total + 2
    assert seen["buffered"] < 64 * 1024 + (1 << 20)  # the limit plus at most one read


def test_starttls_drops_what_came_before_the_handshake() -> None:
    """Commands pipelined behind STARTTLS are not read as if they came over TLS
    (RFC 3207 4.2; CVE-2011-0411)."""
    server_ctx, client_ctx = tls_pair()
    with RecordingServer(ServerScript(capabilities=["STARTTLS"]), tls_context=server_ctx) as srv:
        with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
            stream = sock.makefile("rb")
            stream.readline()
            sock.sendall(b"EHLO c\r\n")
            while stream.readline()[3:4] == b"-":
                pass
            sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@x>\r\n")
            assert stream.readline().startswith(b"220")
            with client_ctx.wrap_socket(sock, server_hostname="localhost") as tls:
                tls.sendall(b"EHLO c\r\nQUIT\r\n")
                replies = b""
                while b"221" not in replies:
                    more = tls.recv(4096)
                    assert more
                    replies += more
    assert srv.sessions[0].commands == ["EHLO c", "STARTTLS", "EHLO c", "QUIT"]


def test_the_recorder_needs_no_aiosmtpd() -> None:
    """The recorder is its own server: with aiosmtpd unimportable it still
    records a session (before, it was built on aiosmtpd's private members)."""
    child = (
        "import sys, smtplib\n"
        "sys.modules['aiosmtpd'] = None\n"
        "from tclbridge.recorder import RecordingServer, ServerScript\n"
        "with RecordingServer(ServerScript(capabilities=['AUTH PLAIN'])) as srv:\n"
        "    with smtplib.SMTP(srv.host, srv.port, local_hostname='c', timeout=5) as c:\n"
        "        c.login('joe', 'pw')\n"
        "        c.sendmail('a@x', ['b@y'], b'hi\\r\\n')\n"
        "print(srv.sessions[0].commands[1], srv.messages[0].data)\n"
    )
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "AUTH PLAIN <hidden> b'hi\\r\\n'\n"


def test_an_idle_client_loses_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """As aiosmtpd's timeout did (300 s): a client silent that long is closed."""
    monkeypatch.setattr(recorder, "IDLE_TIMEOUT", 0.3)
    with RecordingServer() as srv, socket.create_connection((srv.host, srv.port)) as sock:
        sock.settimeout(5)
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"220")
        sock.sendall(b"HELO c\r\n")
        assert stream.readline().startswith(b"250")
        started = time.monotonic()
        assert stream.read() == b""  # closed by the server
        assert 0.2 < time.monotonic() - started < 3
        deadline = time.monotonic() + 2
        while srv.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.open_connections == 0


def test_every_line_sent_before_the_client_closed_is_recorded() -> None:
    """A client may write its last commands and close without reading the
    replies (tcllib's abort: RSET and QUIT): all are in the record, each time."""
    with RecordingServer() as srv:
        for _ in range(20):
            with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
                assert sock.makefile("rb").readline().startswith(b"220")
                sock.sendall(b"HELO c\r\nMAIL FROM:<a@x>\r\nRSET\r\nQUIT\r\n")
        deadline = time.monotonic() + 5
        while srv.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [s.commands for s in srv.sessions] == [
        ["HELO c", "MAIL FROM:<a@x>", "RSET", "QUIT"]] * 20
