"""SMTP smuggling: no sequence a script puts in a message may end DATA early
or put a bare CR or LF on the wire (docs/COMPAT.md `bare-cr`,
`header-injection`).

Every sequence x every transfer encoding x every place (body, attachment
read with -file, header value) goes through ::smtp::sendmessage to a real
recording server on 127.0.0.1. A relay in front of it (RawTap) keeps every
byte the client sent, so the checks run on the raw client stream: exactly
one transaction, the commands a send must have and no others, every CR
followed by LF and every LF preceded by CR, and the DATA section (with its
dot-stuffing undone) equal to what the server delivered and decoding back
to what the script put in, as far as the encoding can carry it:

- base64 carries any bytes: the decoded bytes are the input.
- quoted-printable carries any bytes, with LF as the line break (tcllib
  writes CR as =0D). tcllib's encoder maps "\\n.\\n" to "=2E\\n", dropping
  the line break before a lone dot; the bridge keeps it (COMPAT
  `qp-dot-line`), so the decoded bytes are the input.
- 7bit, 8bit and binary are written as they are, and SMTP DATA cannot carry
  a lone CR or LF: a CRLF, a lone CR and a lone LF each arrive as one CRLF
  (tcllib sends a lone CR bare, and a CRLF in the text as CR CR LF); NUL is
  carried. A lone CR at the very end of a part's body joins the line break
  mime writes after the body, so it is not seen as a line of its own.
- In a header, a value is written as is ("raw") or as an RFC 2047 encoded
  word from mime::word_encode. A line break not followed by a space or tab
  is refused with a Tcl error before connecting; tcllib's Q encoding keeps
  LF unencoded, so such words are refused too. B words carry everything.
"""

from __future__ import annotations

import base64
import binascii
import email.header
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tclbridge import Interp
from tclbridge.recorder import Message, RecordingServer
from tests.support.interps import new_interp
from tests.support.loopback import LoopbackServer

SEQUENCES = {
    "LF.LF": b"\n.\n",
    "CR.CR": b"\r.\r",
    "LF.CRLF": b"\n.\r\n",
    "CRLF.LF": b"\r\n.\n",
    "NUL": b"\0",
    "lone-CR": b"\r",
}
BODY_ENCODINGS = ["7bit", "8bit", "binary", "quoted-printable", "base64"]
HEADER_FORMS = ["raw", "quoted-printable", "base64"]
# Each input also smuggles an SMTP command after the sequence.
SMUGGLED = b"MAIL FROM:<evil@example.com>"


def payload(sequence: bytes) -> bytes:
    return b"A" + sequence + SMUGGLED + sequence + b"B" + sequence


# -- the raw relay ---------------------------------------------------------------------------


class RawTap:
    """A TCP relay on 127.0.0.1 in front of `upstream` that keeps every byte
    each client sent (one bytearray per connection, in `streams`)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.streams: list[bytearray] = []
        self._server = LoopbackServer(self._accept, name="raw-tap")
        self.port = self._server.port

    def __enter__(self) -> RawTap:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()

    def _accept(self, client: socket.socket) -> Callable[[], None]:
        stream = bytearray()
        self.streams.append(stream)
        return partial(self._relay, client, stream)

    def _relay(self, client: socket.socket, stream: bytearray) -> None:
        with client, socket.create_connection(self.upstream, timeout=30) as server:
            client.settimeout(30)
            back = threading.Thread(target=self._pump, args=(server, client, None), daemon=True)
            back.start()
            self._pump(client, server, stream)
            back.join(30)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, keep: bytearray | None) -> None:
        try:
            while data := src.recv(65536):
                if keep is not None:
                    keep += data
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def wait_closed(self, timeout: float = 10) -> None:
        """Wait until every relayed connection has ended."""
        deadline = time.monotonic() + timeout
        for thread in list(self._server.connection_threads):
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), "a client connection stayed open"


@dataclass
class Wire:
    tcl: Interp
    server: RecordingServer
    tap: RawTap


@dataclass
class Sent:
    code: int
    result: str
    streams: list[bytes]
    messages: list[Message]


@pytest.fixture(scope="module")
def wire() -> Iterator[Wire]:
    tcl = new_interp(timeout_scale=0.05)
    with RecordingServer() as server, RawTap((server.host, server.port)) as tap:
        yield Wire(tcl, server, tap)
    tcl.close()


ADDRESSES = "-header {To a@x.y} -header {From f@x.y}"


def send(wire: Wire, setup: str, options: str = "", addresses: str = ADDRESSES) -> Sent:
    """Run `setup` (which sets $tok) and send $tok through the relay; what
    the client wrote and what the server delivered in this send."""
    streams, messages = len(wire.tap.streams), len(wire.server.messages)
    code = int(wire.tcl.eval(
        f"catch {{{setup}\nsmtp::sendmessage $tok -servers 127.0.0.1 -ports {wire.tap.port}"
        f" {addresses} {options}}} res"
    ))
    wire.tap.wait_closed()
    return Sent(
        code,
        str(wire.tcl.call("set", "res")),
        [bytes(s) for s in wire.tap.streams[streams:]],
        wire.server.messages[messages:],
    )


# -- checks on the raw client stream -----------------------------------------------------


def assert_only_crlf(stream: bytes) -> None:
    rest = stream.replace(b"\r\n", b"")
    assert b"\r" not in rest, "bare CR on the wire"
    assert b"\n" not in rest, "bare LF on the wire"


def transaction(stream: bytes) -> tuple[list[str], bytes]:
    """The command verbs and the DATA section (dot-stuffing undone, the
    terminating "." line left out) of a raw client stream."""
    assert stream.endswith(b"\r\n")
    lines = stream[:-2].split(b"\r\n")
    verbs: list[str] = []
    data: list[bytes] | None = None
    data_section = b""
    for line in lines:
        if data is not None:
            if line == b".":
                verbs.append(".")
                data_section = b"".join(d + b"\r\n" for d in data)
                data = None
                continue
            data.append(line[1:] if line.startswith(b".") else line)
            continue
        verbs.append(line.split(b" ")[0].split(b":")[0].decode("ascii"))
        if line == b"DATA":
            data = []
    assert data is None, "DATA never ended"
    return verbs, data_section


def assert_one_clean_delivery(sent: Sent) -> bytes:
    """The send went through as one transaction with nothing smuggled; the
    delivered message (the un-stuffed DATA section)."""
    assert (sent.code, sent.result) == (0, "")
    assert len(sent.streams) == 1 and len(sent.messages) == 1
    stream = sent.streams[0]
    assert_only_crlf(stream)
    verbs, data = transaction(stream)
    assert verbs == ["EHLO", "MAIL", "RCPT", "DATA", ".", "QUIT"]
    assert data == sent.messages[0].content
    assert sent.messages[0].mail_from == "f@x.y" and sent.messages[0].rcpt_tos == ["a@x.y"]
    return data


def assert_refused_before_connecting(sent: Sent, what: str) -> None:
    assert sent.code == 1
    assert what in sent.result and "Traceback" not in sent.result
    assert sent.streams == [] and sent.messages == []


# -- what each encoding can carry ------------------------------------------------------------


def canonical_lines(data: bytes) -> bytes:
    """SMTP text: every CRLF, lone CR and lone LF becomes CRLF."""
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


def canonical_part_body(data: bytes) -> bytes:
    """canonical_lines for the body of a part that mime follows with a line
    break (the boundary delimiter's): a final lone CR joins that one."""
    return canonical_lines(data.removesuffix(b"\r") if data.endswith(b"\r") else data)


def decoded(body: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.b64decode(body, validate=False)
    if encoding == "quoted-printable":
        # LF is the line break of the Tcl text; CR travels as =0D.
        return binascii.a2b_qp(body).replace(b"\r\n", b"\n")
    return body


def expected(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return data
    if encoding == "quoted-printable":
        return data
    return canonical_lines(data)


def part_body(message: bytes, boundary: bytes | None) -> bytes:
    """The body of a single-part message, or of the second part of a
    multipart one (the delimiter's CRLF is not part of the body)."""
    if boundary is None:
        return message.split(b"\r\n\r\n", 1)[1]
    parts = message.split(b"\r\n--" + boundary)
    return parts[2].split(b"\r\n\r\n", 1)[1]


def boundary_of(message: bytes) -> bytes:
    found = re.search(rb'boundary="([^"]+)"', message)
    assert found
    return found.group(1)


def tcl_string(data: bytes) -> str:
    """Bytes as the Tcl string the script would hold (one char per byte)."""
    return data.decode("latin-1")


# -- the matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", BODY_ENCODINGS)
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_body(wire: Wire, name: str, encoding: str) -> None:
    data = payload(SEQUENCES[name])
    wire.tcl.call("set", "body", tcl_string(data))
    sent = send(
        wire, f"set tok [mime::initialize -canonical text/plain -encoding {encoding}"
        " -string $body]"
    )
    body = part_body(assert_one_clean_delivery(sent), None)
    want = expected(data, encoding)
    # DATA ends with a line break: one is added when the written text has
    # none (quoted-printable writes a CR as =0D, so only LF counts there).
    got = decoded(body, encoding)
    breaks = (b"\n",) if encoding == "quoted-printable" else (b"\n", b"\r")
    if encoding != "base64" and not data.endswith(breaks):
        ending = b"\n" if encoding == "quoted-printable" else b"\r\n"
        assert got.endswith(ending)
        got = got[: -len(ending)]
    assert got == want


@pytest.mark.parametrize("encoding", BODY_ENCODINGS)
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_attachment_from_file(wire: Wire, tmp_path: Path, name: str, encoding: str) -> None:
    data = payload(SEQUENCES[name])
    path = tmp_path / "attachment.bin"
    path.write_bytes(data)
    wire.tcl.call("set", "path", str(path))
    sent = send(
        wire,
        "set text [mime::initialize -canonical text/plain -string {see attached}]\n"
        "set file [mime::initialize -canonical application/octet-stream"
        f" -encoding {encoding} -file $path]\n"
        "set tok [mime::initialize -canonical multipart/mixed -parts [list $text $file]]",
    )
    message = assert_one_clean_delivery(sent)
    body = part_body(message, boundary_of(message))
    want = canonical_part_body(data) if encoding in ("7bit", "8bit", "binary") else (
        expected(data, encoding)
    )
    assert decoded(body, encoding) == want


@pytest.mark.parametrize("form", HEADER_FORMS)
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_header_value(wire: Wire, name: str, form: str) -> None:
    text = tcl_string(payload(SEQUENCES[name]))
    wire.tcl.call("set", "value", text)
    if form != "raw":
        wire.tcl.eval(f"set value [mime::word_encode utf-8 {form} $value]")
    value = str(wire.tcl.call("set", "value"))
    sent = send(
        wire,
        "set tok [mime::initialize -canonical text/plain -string body]",
        "-header [list Subject $value]",
    )
    # Raw, every line break is refused; tcllib's Q words keep LF as it is.
    breaks = "\n" if form == "quoted-printable" else "\r\n" if form == "raw" else ""
    if any(ch in text for ch in breaks):
        assert_refused_before_connecting(sent, "header injection refused")
        return
    message = assert_one_clean_delivery(sent)
    header_block = message.split(b"\r\n\r\n", 1)[0]
    # Long encoded words are folded ("\n " in the value, CRLF SP on the wire).
    subject = re.findall(rb"^Subject: [^\r\n]*(?:\r\n[ \t][^\r\n]*)*", header_block, re.M)
    assert subject == [b"Subject: " + value.replace("\n", "\r\n").encode("latin-1")]
    if form == "raw":
        assert value == text
    else:
        words = email.header.decode_header(value)
        assert {charset for _, charset in words} == {"utf-8"}
        assert b"".join(raw for raw, _ in words).decode("utf-8") == text


def test_every_sequence_at_once_in_one_message(wire: Wire, tmp_path: Path) -> None:
    """All sequences together, in a body, a file attachment and the final
    bytes (a lone CR as the very last byte of the message)."""
    data = b"".join(payload(s) for s in SEQUENCES.values()) + b".\r"
    path = tmp_path / "all.bin"
    path.write_bytes(data)
    wire.tcl.call("set", "body", tcl_string(data))
    wire.tcl.call("set", "path", str(path))
    sent = send(
        wire,
        "set a [mime::initialize -canonical text/plain -encoding 8bit -string $body]\n"
        "set b [mime::initialize -canonical application/octet-stream -encoding binary"
        " -file $path]\n"
        "set tok [mime::initialize -canonical multipart/mixed -parts [list $a $b]]",
    )
    message = assert_one_clean_delivery(sent)
    assert part_body(message, boundary_of(message)) == canonical_part_body(data)


# -- injection: line breaks in what becomes a command or a header ------------------------------

BREAKS = {"CRLF": "\r\n", "LF": "\n", "CR": "\r"}
# Folded: a line break followed by a space, which a header value may hold.
FOLDED = {f"{name}+SP": br + " " for name, br in BREAKS.items()}

# (options, value with {br} where the line break goes, the error's start).
COMMAND_INJECTIONS = {
    "-originator": ("-originator $v", '"x{br}RSET"@x.y', "error in -originator: line break in"),
    "-recipients": ("-recipients $v", '"x{br}RCPT TO:<e@x.y>"@x.y', "error in -recipients: line"),
    "-recipients-bare": ("-recipients $v", "a@x.y{br}RCPT TO:<e@x.y>", "error in -recipients: "),
    "-client": ("-client $v", "me{br}NOOP", "error in -client: line break in"),
    "-username": ("-username $v -password pw", "me{br}NOOP", "error in -username: line break in"),
    "To": ("-header [list To $v]", '"x{br}RCPT TO:<e@x.y>"@x.y', "To"),
    "cc": ("-header [list cc $v]", '"x{br}RCPT TO:<e@x.y>"@x.y', "cc"),
    "Bcc": ("-header [list Bcc $v]", '"x{br}RCPT TO:<e@x.y>"@x.y', "Bcc"),
    "Dcc": ("-header [list Dcc $v]", '"x{br}RCPT TO:<e@x.y>"@x.y', "Dcc"),
    "From": ("-header [list From $v]", '"x{br}RSET"@x.y', "From"),
    "Resent-To": ("-header [list Resent-To $v]", '"x{br}RCPT TO:<e@x.y>"@x.y', "Resent-To"),
}


@pytest.mark.parametrize("brk", [*BREAKS, *FOLDED])
@pytest.mark.parametrize("where", list(COMMAND_INJECTIONS))
def test_line_break_in_envelope_values_refused(wire: Wire, where: str, brk: str) -> None:
    """An address, -client or -username with a line break (folded or not)
    never reaches the server: a Tcl error before connecting. In a header
    the unfolded break is refused as header injection, the folded one when
    the address is taken out of it."""
    options, template, error = COMMAND_INJECTIONS[where]
    wire.tcl.call("set", "v", template.format(br={**BREAKS, **FOLDED}[brk]))
    sent = send(
        wire, "set tok [mime::initialize -canonical text/plain -string hi]", options,
        "-header {To a@x.y}" if where == "From" else ADDRESSES,
    )
    if where in ("-originator", "-recipients", "-recipients-bare", "-client", "-username"):
        assert sent.result.startswith(error)
    elif brk in BREAKS:
        assert sent.result == (
            f"header {error} contains a line break not followed by a space or tab"
            " (header injection refused)"
        )
    else:  # the header is well folded; the address taken out of it is not
        pattern = rf"error in (To/)?{error}: line break in .* \(SMTP command injection refused\)"
        assert re.fullmatch(pattern, sent.result, re.S)
    assert_refused_before_connecting(sent, "refused" if where != "-recipients-bare" else "")
    assert not wire.tcl.eval("set errorCode").startswith("TCLBRIDGE")


@pytest.mark.parametrize("brk", list(BREAKS))
def test_line_break_in_header_value_or_name_refused(wire: Wire, brk: str) -> None:
    br = BREAKS[brk]
    wire.tcl.call("set", "v", f"hi{br}Bcc: e@x.y")
    for options, error in [
        ("-header [list Subject $v]", "header Subject contains a line break not followed"),
        ("-header [list X-Tag$v 1]", f"header name X-Taghi{br}Bcc: e@x.y contains a line"),
        ("-header [list $v 1]", "header name hi"),
    ]:
        sent = send(wire, "set tok [mime::initialize -canonical text/plain -string hi]", options)
        assert sent.result.startswith(error)
        assert_refused_before_connecting(sent, "(header injection refused)")


# mime commands that put a value into a header: each refuses a line break.
MIME_INJECTIONS = [
    "mime::initialize -canonical text/plain -header [list Subject $v] -string x",
    "mime::initialize -canonical text/plain -header [list $v x] -string x",
    "mime::initialize -canonical text/plain -param [list charset $v] -string x",
    "mime::initialize -canonical text/plain -param [list $v x] -string x",
    "mime::initialize -canonical text/$v -string x",
    "mime::setheader [mime::initialize -canonical text/plain -string x] Subject $v",
    "mime::setheader [mime::initialize -canonical text/plain -string x] Subject $v append",
    "mime::setheader [mime::initialize -canonical text/plain -string x] $v x",
]


@pytest.mark.parametrize("brk", list(BREAKS))
@pytest.mark.parametrize("command", MIME_INJECTIONS)
def test_line_break_in_mime_header_sources_refused(wire: Wire, command: str, brk: str) -> None:
    wire.tcl.call("set", "v", f"x{BREAKS[brk]}Bcc: e@x.y")
    code = wire.tcl.eval(f"catch {{{command}}} res")
    result = str(wire.tcl.call("set", "res"))
    assert code == "1"
    assert "header injection refused" in result or result == (
        "list must have an even number of elements"  # setheader's mode argument
    ) and command.endswith("append")


@pytest.mark.parametrize("brk", list(FOLDED))
def test_folded_header_value_stays_one_header(wire: Wire, brk: str) -> None:
    """A line break followed by a space continues the header (RFC 5322
    folding): on the wire it is CRLF SP, never an empty line that would end
    the header block, and no header or command comes out of it."""
    wire.tcl.call("set", "v", f"hi{FOLDED[brk]}Bcc: e@x.y")
    sent = send(
        wire, "set tok [mime::initialize -canonical text/plain -string body]",
        "-header [list Subject $v] -header [list X-Note $v]",
    )
    message = assert_one_clean_delivery(sent)
    header_block, body = message.split(b"\r\n\r\n", 1)
    assert body == b"body\r\n"
    lines = header_block.split(b"\r\n")
    assert lines.count(b" Bcc: e@x.y") == 2
    names = [line.split(b":")[0] for line in lines if not line.startswith(b" ")]
    assert names == [
        b"MIME-Version", b"Content-ID", b"To", b"From", b"Subject", b"X-Note", b"Date",
        b"Message-ID", b"Content-Type",
    ]


# -- injection through a parsed message -----------------------------------------------------
#
# mime::initialize -string/-file stores header values as they were read, so a
# bare CR (which the parser does not split at) stays in the value. tcllib
# writes it as it is; on the wire a bare CR is a line break (the DATA stream
# makes it CRLF), so the rest of the value would be a header of its own, and
# CR CR an empty line that ends the header block. The generator refuses it,
# whatever the header's source (COMPAT `header-injection`).

INJECTED_FROM = "ceo@example.com"
BODY = "\n\nbody\n"
# (header block of the parsed message, the header the error names)
PARSED_INJECTIONS = {
    "bare-CR": (f"Subject: hi\rFrom: {INJECTED_FROM}", "header Subject"),
    "CR-CR": ("Subject: hi\r\rInjected body line", "header Subject"),
    "folded-then-CR-CR": (f"Subject: a\n b\r\rFrom: {INJECTED_FROM}", "header Subject"),
    "in-name": (f"X-Tag\rFrom: {INJECTED_FROM}", "header name X-Tag\rFrom"),
    "mime-version": (f"MIME-Version: 1.0\rFrom: {INJECTED_FROM}", "header MIME-Version"),
    "content-type-param": (
        f'Content-Type: text/plain; charset="us-ascii\rFrom: {INJECTED_FROM}"',
        "header Content-Type",
    ),
}


def parse_command(source: str, tmp_path: Path, raw: str) -> str:
    """The mime::initialize call that parses `raw` from a string or a file."""
    if source == "string":
        return "mime::initialize -string $raw"
    path = tmp_path / "parsed.eml"
    path.write_bytes(raw.encode("latin-1"))
    return f"mime::initialize -file {{{path}}}"


@pytest.mark.parametrize("source", ["string", "file"])
@pytest.mark.parametrize("name", list(PARSED_INJECTIONS))
def test_parsed_header_line_break_refused_by_sendmessage(
    wire: Wire, tmp_path: Path, name: str, source: str
) -> None:
    """smtp::sendmessage of the parsed token is the Tcl error -header gives
    for the same value, before connecting: nothing reaches the server."""
    block, what = PARSED_INJECTIONS[name]
    wire.tcl.call("set", "raw", block + BODY)
    sent = send(wire, f"set tok [{parse_command(source, tmp_path, block + BODY)}]")
    assert sent.result.startswith(what + " contains a line break")
    assert_refused_before_connecting(sent, "(header injection refused)")
    assert wire.tcl.eval("set errorCode") == "NONE"


@pytest.mark.parametrize("name", list(PARSED_INJECTIONS))
def test_parsed_header_line_break_refused_by_build_and_copy(
    wire: Wire, tmp_path: Path, name: str
) -> None:
    """mime::buildmessage and mime::copymessage refuse it too; copymessage
    writes nothing to the channel. Reading the part still works."""
    block, what = PARSED_INJECTIONS[name]
    wire.tcl.call("set", "raw", block + BODY)
    out = tmp_path / "copy.eml"
    wire.tcl.call("set", "out", str(out))
    wire.tcl.eval("set tok [mime::initialize -string $raw]")
    for command in ("mime::buildmessage $tok",
                    "set ch [open $out w]; try {mime::copymessage $tok $ch} finally {close $ch}"):
        assert wire.tcl.eval(f"catch {{{command}}} res") == "1"
        result = str(wire.tcl.call("set", "res"))
        assert result.startswith(what) and result.endswith("(header injection refused)")
    assert out.read_bytes() == b""
    assert wire.tcl.eval("mime::getbody $tok") == "body\n"


def test_parsed_sub_part_header_refused(wire: Wire) -> None:
    """A header of a parsed multipart's sub-part is checked as well."""
    raw = (
        'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
        f"Content-Type: text/plain\nSubject: hi\rFrom: {INJECTED_FROM}\n\npart\n--b1--\n"
    )
    wire.tcl.call("set", "raw", raw)
    sent = send(wire, "set tok [mime::initialize -string $raw]")
    assert_refused_before_connecting(sent, "header Subject contains a line break")
    assert wire.tcl.eval("catch {mime::buildmessage $tok} res") == "1"


@pytest.mark.parametrize("fold", ["\r\n ", "\n ", "\n\t", "\r\r\n "])
def test_parsed_folded_header_still_sent(wire: Wire, fold: str) -> None:
    """Folding (a line break then a space or tab) in a parsed header is
    legitimate: it goes out as one CRLF and the continuation line; no
    header comes out of it. (A CR right before the LF is part of the line
    end: the parser drops it.)"""
    wire.tcl.call("set", "raw", f"Subject: hi{fold}From: {INJECTED_FROM}\n\nbody\n")
    message = assert_one_clean_delivery(send(wire, "set tok [mime::initialize -string $raw]"))
    header_block = message.split(b"\r\n\r\n", 1)[0]
    continuation = fold.lstrip("\r\n").encode()
    assert f"\r\nSubject: hi\r\n{continuation.decode()}From: {INJECTED_FROM}\r\n".encode() in (
        b"\r\n" + header_block + b"\r\n"
    )
    names = [line.split(b":")[0] for line in header_block.split(b"\r\n")
             if not line.startswith((b" ", b"\t"))]
    assert names.count(b"From") == 1  # the -header From only


def test_folded_value_with_cr_built_as_one_crlf(wire: Wire) -> None:
    """The generator writes a folding break as one line end: buildmessage
    of `a\\r\\n b` (from -header, setheader or a parse) is `a CRLF SP b`
    (tcllib: `a CR CR LF SP b`, where the bare CR is a line break of its
    own to many readers)."""
    wire.tcl.call("set", "v", "a\r\n b\r c\n\td")
    wire.tcl.eval("set tok [mime::initialize -canonical text/plain -header [list X-A $v]"
                  " -string body]")
    wire.tcl.eval("mime::setheader $tok X-B $v")
    built = wire.tcl.eval("mime::buildmessage $tok").encode("latin-1")
    for name in (b"X-A", b"X-B"):
        assert name + b": a\r\n b\r\n c\r\n\td\r\n" in built
    assert_only_crlf(built)
