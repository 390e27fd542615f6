"""The body goes out streamed and in few, large writes."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from tclbridge.mime.initialize import new_part
from tclbridge.smtp.envelope import derive
from tclbridge.smtp.options import SendOptions
from tclbridge.smtp.results import Sent
from tclbridge.smtp.session import Session, SessionSettings
from tclbridge.smtp.transport import SocketTransport
from tests.support.discard_sink import DiscardSink
from tests.support.interps import new_interp


class CountingTransport(SocketTransport):
    writes: list[bytes]

    @classmethod
    def connect(cls, host: str, port: int, timeout: float | None) -> CountingTransport:
        transport = super().connect(host, port, timeout)
        assert isinstance(transport, CountingTransport)
        transport.writes = []
        CONNECTIONS.append(transport)
        return transport

    def write(self, data: bytes, timeout: float | None) -> None:
        self.writes.append(data)
        super().write(data, timeout)


CONNECTIONS: list[CountingTransport] = []


def test_small_message_body_and_final_dot_in_one_write() -> None:
    """tcllib writes the final "." separately and waits ~44 ms on Nagle and
    delayed ACK for it; the whole DATA must go out in one write."""
    opts = SendOptions(originator="f@x.y")
    opts.add_header("To", "a@x.y")
    envelope = derive(opts, new_part(canonical="text/plain", string="hello\n.dot\n"))
    with DiscardSink() as sink:
        settings = SessionSettings(
            server_override=("127.0.0.1", sink.port), connect=CountingTransport.connect
        )
        outcome = Session(opts, envelope, settings).run()
    assert outcome == Sent(((),))  # code 0, nobody refused
    writes = CONNECTIONS[-1].writes
    data_at = writes.index(b"DATA\r\n")
    body_writes = writes[data_at + 1 : -1]
    assert len(body_writes) == 1
    assert body_writes[0].endswith(b"\r\n..dot\r\n.\r\n")
    assert writes[-1] == b"QUIT\r\n"


def test_large_attachment_is_streamed(tmp_path: Path) -> None:
    size = 30 * 1024 * 1024
    attachment = tmp_path / "big.bin"
    with attachment.open("wb") as out:
        for i in range(size // (1 << 20)):
            out.write(bytes([i % 251]) * (1 << 20))
    tcl = new_interp(timeout_scale=1)
    tcl.call("set", "path", str(attachment))
    tcl.eval(
        "set body [mime::initialize -canonical text/plain -string {see attached}]\n"
        "set file [mime::initialize -canonical application/octet-stream"
        " -encoding base64 -file $path]\n"
        "set tok [mime::initialize -canonical multipart/mixed -parts [list $body $file]]"
    )
    with DiscardSink() as sink:
        tracemalloc.start()
        try:
            tcl.eval(
                f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {sink.port}"
                " -header {To a@x.y}"
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # base64 of 30 MiB is ~40 MiB on the wire; none of it is held whole.
    assert sink.data_sizes and sink.data_sizes[0] > size * 4 // 3
    assert peak < 8 * 1024 * 1024, peak
