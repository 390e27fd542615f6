"""The SMTP protocol layer, fed byte transcripts (no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tclbridge.smtp.protocol import (
    DataEncoder,
    LineBuffer,
    Reply,
    ReplyParser,
    encode_command,
    encode_data,
    reply_list,
)
from tests.support.hypothesis_runs import REPLAYABLE


def parse_transcript(data: bytes) -> list[Reply]:
    buffer, parser, replies = LineBuffer(), ReplyParser(), []
    for line in buffer.feed(data):
        reply = parser.feed(line)
        if reply is not None:
            replies.append(reply)
    return replies


def test_single_and_multiline_replies() -> None:
    replies = parse_transcript(b"220 mx ready\r\n250-mx hello\r\n250-SIZE 1000\r\n250 XQUE\r\n")
    assert replies == [
        Reply(220, "mx ready"),
        Reply(250, "mx hello", ("SIZE 1000", "XQUE")),
    ]


def test_lf_only_and_trimmed_text() -> None:
    assert parse_transcript(b"550   no such user  \n") == [Reply(550, "no such user")]


def test_lines_split_across_reads() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"25") == []
    assert buffer.feed(b"0 o") == []
    assert buffer.feed(b"k\r\n354 go\r") == ["250 ok"]
    assert buffer.feed(b"\n") == ["354 go"]


def test_short_and_garbage_lines_end_the_reply_as_tcllib() -> None:
    assert parse_transcript(b"25\r\n") == [Reply(500, "response too short: 25")]
    assert parse_transcript(b"abc hello\r\n") == [Reply(500, "unrecognizable code: abc hello")]


def test_reply_list_order_matches_tcllib_array_get() -> None:
    assert reply_list(Reply(550, "nope")) == ["diagnostic", "nope", "args", [], "code", "550"]
    assert reply_list(Reply(400, "broken", plain=True)) == [
        "code", "400", "diagnostic", "broken"
    ]


def test_commands_are_utf8() -> None:
    # RFC 6531: a non-ASCII address is UTF-8 (Latin-1 too, which Tcl would
    # write as single bytes); only a SMTPUTF8 server is sent one.
    assert encode_command("MAIL FROM:<a@b>") == b"MAIL FROM:<a@b>\r\n"
    assert encode_command("RCPT TO:<\u00e9@b>") == b"RCPT TO:<\xc3\xa9@b>\r\n"
    assert encode_command("RCPT TO:<\u20ac@b>") == "RCPT TO:<\u20ac@b>\r\n".encode()


def data(*chunks: bytes) -> bytes:
    return b"".join(encode_data(chunks))


@pytest.mark.parametrize(
    ("raw", "wire"),
    [
        (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
        (b"a\r\nb", b"a\r\nb\r\n.\r\n"),
        (b"a\rb\r", b"a\r\nb\r\n.\r\n"),
        (b".x\n.\n", b"..x\r\n..\r\n.\r\n"),
        (b"a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
        (b"", b".\r\n"),
    ],
)
def test_data_normalisation_and_dot_stuffing(raw: bytes, wire: bytes) -> None:
    assert data(raw) == wire


@pytest.mark.parametrize(
    "smuggle", [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\r\n", b"\r.\n", b"\n.\r"]
)
def test_no_smuggling_sequence_ends_data_early(smuggle: bytes) -> None:
    wire = data(b"hello" + smuggle + b"MAIL FROM:<evil@x>\r\n")
    assert wire.endswith(b"\r\n.\r\n")
    assert wire.count(b"\r\n.\r\n") == 1


@settings(deadline=None, **REPLAYABLE)
@given(st.lists(st.binary(max_size=40), max_size=8))
def test_chunking_never_changes_the_stream(chunks: list[bytes]) -> None:
    whole = data(b"".join(chunks))
    assert data(*chunks) == whole
    body = whole[: -len(b".\r\n")]
    # Every line ends in CRLF, no bare CR or LF, no line is a lone ".".
    assert body == b"" or body.endswith(b"\r\n")
    assert b"\r" not in body.replace(b"\r\n", b"")
    assert b"\n" not in body.replace(b"\r\n", b"")
    lines = body.split(b"\r\n")[:-1]
    assert all(not line.startswith(b".") or line.startswith(b"..") for line in lines)
    # Undoing the stuffing gives back the normalised input.
    normalised = b"".join(chunks).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    unstuffed = b"\n".join(line[1:] if line.startswith(b".") else line for line in lines)
    assert unstuffed == normalised.removesuffix(b"\n")


def test_encoder_counts_size() -> None:
    encoder = DataEncoder()
    out = encoder.encode(b".a\nb") + encoder.finish()
    assert out == b"..a\r\nb\r\n.\r\n"
    assert encoder.size == len(out)
