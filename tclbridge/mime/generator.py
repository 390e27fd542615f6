"""Writing a part the way `mime::copymessage` / `mime::buildmessage` do.

`iter_text` yields the message as Tcl characters with LF line ends, exactly
what tcllib hands to its channel; `iter_message` applies what the channel
`mime::buildmessage` writes into does (system encoding, LF -> CRLF) and
yields bytes. Both are lazy: file bodies are read and encoded piece by
piece, in large pieces.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from tclbridge.engine_errors import MimeError, MimeKind
from tclbridge.mime.model import Part, os_path, read_file, validate_header_value
from tclbridge.mime.transfer_encodings import base64_encode, base64_lines, base64_size, qp_encode

# Characters of base64 output per yielded piece of a string body (57 input
# bytes make one 76-char line, so pieces join at line ends).
_B64_STRING_PIECE = 57 * 1024
# A line break inside a header value that passed validate_header_value: each
# is folding (followed by a space or tab).
_FOLD = re.compile(r"\r\n|\r|\n")


def check_writable(part: Part) -> None:
    """Refuse, before anything is written, a part tcllib cannot write (its
    sub-parts were finalized) or one with a header line break that is not
    folding (see `check_headers`)."""
    _check_finalized(part)
    check_headers(part)


def _check_finalized(part: Part) -> None:
    if part.finalized:
        raise MimeError('can\'t read "state(header)": no such variable', MimeKind.GONE_PART)
    for child in part.parts if part.value == "parts" else ():
        _check_finalized(child)


def check_headers(part: Part) -> None:
    """The header-injection check for every header line a write of `part`
    would produce, whatever set the value: `-header`, `mime::setheader`, or
    a parsed message (whose values are stored as they were read, so
    `Subject: hi\rFrom: x` holds a bare CR). Cheap: no body is read."""
    pending = [part]
    while pending:
        current = pending.pop()
        for name, value in current.layout.header_fields(current, choose=False):
            validate_header_value(name, value)
        if current.value == "parts":
            # message/* parts write their first sub-part only.
            pending.extend(current.parts[:1] if current.content.startswith("message/")
                           else current.parts)


def _header_block(part: Part) -> str:
    """The header lines of `part`: the one place header lines are written.
    A value's folding breaks (CR, LF or CRLF before a space or tab) are
    written as the generator's line end, so every channel and the DATA
    stream carry them as one CRLF; any other break is refused."""
    lines = []
    for name, value in part.layout.header_fields(part):
        validate_header_value(name, value)
        lines.append(f"{name}: {_FOLD.sub(chr(10), value)}\n")
    return "".join(lines)


def iter_text(part: Part) -> Iterator[str]:
    """The message as tcllib writes it to a channel, before the channel's
    encoding and translation."""
    check_writable(part)
    return cast(Iterator[str], _text(part, lengths=False))


@dataclass(frozen=True)
class EncodedLength:
    """A base64 file body as `_text(..., lengths=True)` yields it: its
    characters and LF line breaks, computed from the file's size."""

    chars: int
    breaks: int


def _text(part: Part, lengths: bool) -> Iterator[str | EncodedLength]:
    layout = part.layout
    yield _header_block(part)
    if part.value == "parts":
        if part.content.startswith("message/"):
            yield "\n"
            if part.parts:
                yield from _text(part.parts[0], lengths)
            return
        boundary = layout.boundary(part)
        for child in part.parts:
            yield f"\n--{boundary}\n"
            yield from _text(child, lengths)
        yield f"\n--{boundary}--\n"
        return
    converter = layout.body_converter(part)
    if part.value == "file" and not part.canonical:
        # A parsed part: its stored bytes, as they are.
        yield "\n"
        yield from part.iter_stored_text(layout.file_read)
        return
    if part.value == "file":
        assert part.file is not None
        yield "\n"
        if lengths and converter == "base64":
            size = os.path.getsize(os_path(part.file))
            yield EncodedLength(*base64_size(size, layout.file_piece))
            return
        yield from _file_body(part.file, converter, layout.file_piece, layout.file_read)
        return
    if converter == "base64":
        yield "\n"
        raw = part.string
        for start in range(0, len(raw), _B64_STRING_PIECE):
            sep = "\n" if start else ""
            yield sep + base64_encode(raw[start : start + _B64_STRING_PIECE])
    elif converter == "quoted-printable":
        yield "\n" + qp_encode(part.string)
    else:
        yield "\n" + part.string


def _file_body(path: str, converter: str, piece: int, read_size: int) -> Iterator[str]:
    # tcllib encodes each `piece` bytes on its own and concatenates the
    # results, so we keep that framing while reading larger blocks.
    for block in read_file(path, read_size):
        if converter == "base64":
            yield base64_lines(block, piece).decode("ascii")
            continue
        text = block.decode("latin-1")
        if converter == "quoted-printable":
            yield "".join(qp_encode(text[i : i + piece]) for i in range(0, len(text), piece))
        else:
            yield text


def encode_for_channel(text: str, encoding: str = "utf-8", crlf: bool = True) -> bytes:
    """What a Tcl channel with this encoding and translation writes."""
    data = text.encode(encoding, "surrogatepass" if encoding == "utf-8" else "replace")
    return data.replace(b"\n", b"\r\n") if crlf else data


def iter_message(part: Part, encoding: str = "utf-8", *, crlf: bool = True) -> Iterator[bytes]:
    """The bytes of `mime::buildmessage $tok`, lazily, in large chunks.

    `encoding` is the Tcl system encoding (tcllib builds the message in a
    memory channel that has it); `crlf` the memory channel's translation.
    """
    pending: list[bytes] = []
    size = 0
    for text in iter_text(part):
        data = encode_for_channel(text, encoding, crlf)
        pending.append(data)
        size += len(data)
        if size >= 65536:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def message_size(part: Part, encoding: str = "utf-8") -> int:
    """`len(build_message(part, encoding))`, what SMTP SIZE announces, with
    base64 file bodies counted from the file's size instead of encoded (a
    second encoding pass would double the cost of a large attachment)."""
    check_writable(part)
    total = 0
    for text in _text(part, lengths=True):
        if isinstance(text, EncodedLength):
            total += text.chars + 2 * text.breaks  # each LF goes out as CRLF
        else:
            total += len(encode_for_channel(text, encoding))
    return total


def build_message(part: Part, encoding: str = "utf-8") -> bytes:
    """`mime::buildmessage $tok` as bytes."""
    return b"".join(iter_message(part, encoding))
