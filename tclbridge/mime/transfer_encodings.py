"""Transfer encodings as tcllib's mime package writes and reads them:
quoted-printable and base64 bodies, RFC 2047 encoded words
(`mime::word_encode`, `word_decode`, `field_decode`), and `mime::uniqueID`.

Strings here are "Tcl strings": `str` whose characters may exceed 0xFF.
tcllib's encoders work on characters, not bytes, and each quirk of that is
kept: base64 takes the low byte of every character, quoted-printable leaves
characters above 0xFF alone (the output channel encodes them later).
"""

from __future__ import annotations

import binascii
import functools
import itertools
import os
import re
import socket
import struct
import time
from collections.abc import Callable, Iterable, Sequence

from tclbridge.engine_errors import MimeError, MimeKind
from tclbridge.mime.charsets import mime_charset, tcl_decode, tcl_encode, tcl_encoding

# Characters quoted-printable turns into =XX. Note \x1F and the Tcl specials
# outside these ranges stay as they are, exactly as tcllib's table.
_QP_BODY = re.compile(r"[\x00-\x08\x0B-\x1E\x21-\x24\x3D\x40\x5B-\x5E\x60\x7B-\xFF]")
_QP_WORD = re.compile(r"[\x00-\x08\x0B-\x1E\x21-\x24\x3D\x40\x5B-\x5E\x60\x7B-\xFF\x09\x5F\x3F]")
_QP_SPECIAL_LINES: tuple[tuple[str, str], ...] = (
    (" \n", "=20\n"),
    ("\t\n", "=09\n"),
    # tcllib writes "=2E\n", losing the line break before the dot (COMPAT qp-dot-line).
    ("\n.\n", "\n=2E\n"),
    ("\nFrom ", "\n=46rom "),
)
_QP_LINE = 72
# Lines tcllib cuts with soft breaks.
_QP_LONG_LINE = re.compile(rf"[^\n]{{{_QP_LINE + 1},}}")


def _escape_table(chars: re.Pattern[str]) -> dict[str, str]:
    return {c: f"={ord(c):02X}" for c in map(chr, range(256)) if chars.match(c)}


_QP_BODY_ESCAPES = _escape_table(_QP_BODY)
_QP_WORD_ESCAPES = _escape_table(_QP_WORD)


def string_map(text: str, mapping: Sequence[tuple[str, str]]) -> str:
    """Tcl's `string map`: one left-to-right pass, first matching key wins."""
    pattern, replacements = _string_map_regex(tuple(mapping))
    if pattern is None:
        return text
    return pattern.sub(lambda found: replacements[found.group()], text)


@functools.lru_cache(maxsize=32)
def _string_map_regex(
    mapping: tuple[tuple[str, str], ...],
) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    # A regex alternation tries its branches in order at each position, and
    # re.sub moves on after a match: exactly `string map`'s rule.
    replacements: dict[str, str] = {}
    for key, value in mapping:
        if key:
            replacements.setdefault(key, value)
    if not replacements:
        return None, replacements
    return re.compile("|".join(map(re.escape, replacements))), replacements


def _escape_chars(text: str, escapes: dict[str, str]) -> str:
    """Each character of `escapes` in `text` as its =XX. One C-level pass per
    character present beats a Python call per occurrence; "=" goes first,
    since the others bring more of it."""
    present = [c for c in escapes if c in text]
    if "=" in present:
        present.remove("=")
        text = text.replace("=", escapes["="])
    for char in present:
        text = text.replace(char, escapes[char])
    return text


def _soft_break(line: str) -> str:
    """tcllib's cuts of a line longer than 72 characters: 73 at a time, or
    fewer so that no =XX is split, each piece ending in a soft break."""
    # An index walks the line: slicing off each piece would copy the rest
    # every time, quadratic in the line's length.
    pieces = []
    start = 0
    while len(line) - start > _QP_LINE:
        # tcllib tests the 73 characters with `regexp (=|=.)$`.
        if line[start + _QP_LINE - 1] == "=":
            keep = _QP_LINE - 1
        elif line[start + _QP_LINE] == "=":
            keep = _QP_LINE
        else:
            keep = _QP_LINE + 1
        pieces.append(line[start : start + keep])
        pieces.append("=\n")
        start += keep
    pieces.append(line[start:])
    return "".join(pieces)


def qp_encode(text: str, encoded_word: bool = False, no_softbreak: bool = False) -> str:
    """`mime::qp_encode string ?encoded_word? ?no_softbreak?`."""
    if encoded_word:
        text = _escape_chars(text, _QP_WORD_ESCAPES)
        text = string_map(text, ((" ", "_"),) + _QP_SPECIAL_LINES)
    else:
        text = _escape_chars(text, _QP_BODY_ESCAPES)
        text = string_map(text, _QP_SPECIAL_LINES)
    if not no_softbreak:
        text = _QP_LONG_LINE.sub(lambda found: _soft_break(found.group()), text)
    if text.endswith(" "):
        text = text[:-1] + "=20"
    elif text.endswith("\t"):
        text = text[:-1] + "=09"
    return text


# Blanks before a line break. The look-behind lets a match start only where
# a run of blanks starts: plain `[ \t]+\n` would rescan the rest of a run
# from each of its characters, quadratic in a run without a line break.
_QP_TRAILING_WS = re.compile(r"(?<![ \t])[ \t]+\n")
_QP_HEX = re.compile(r"=([0-9a-fA-F]{2})")


def qp_decode(text: str, encoded_word: bool = False) -> str:
    """`mime::qp_decode string ?encoded_word?`."""
    if encoded_word:
        text = text.replace("_", " ")
    text = _QP_TRAILING_WS.sub("\n", text)
    text = text.rstrip(" \t").replace("=\n", "")
    return _QP_HEX.sub(lambda m: chr(int(m.group(1), 16)), text)


def low_bytes(text: str) -> bytes:
    """What Tcl's byte-array conversion keeps of a string: each char's low byte."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return bytes(ord(c) & 0xFF for c in text)


def base64_encode(data: bytes | str, maxlen: int = 76) -> str:
    """tcllib `base64::encode` (76-character lines joined by LF, no final LF)."""
    raw = low_bytes(data) if isinstance(data, str) else data
    return base64_lines(raw, 0, maxlen).decode("ascii")


def base64_lines(raw: bytes, piece: int = 0, width: int = 76) -> bytes:
    """tcllib's base64 of `raw` encoded `piece` bytes at a time (0: all at
    once): each piece's output in lines of `width` characters joined by LF,
    with no LF after a piece, so a piece's short last line runs on into the
    next piece's first line (tcllib's file bodies look like that).

    One C call encodes everything, one `struct` unpack cuts the lines (its
    format, made once per length, lists their lengths) and one join puts
    them together: a Python step per line would cost more than the encoding."""
    if not raw:
        return b""
    piece = piece or len(raw)
    if piece % 3 == 0:
        # Pieces of whole 3-byte groups encode the same apart or together.
        encoded = binascii.b2a_base64(raw, newline=False)
    else:
        encoded = b"".join(
            binascii.b2a_base64(raw[i : i + piece], newline=False)
            for i in range(0, len(raw), piece)
        )
    if width <= 0:
        return encoded
    return b"\n".join(_line_layout(len(raw), piece, width).unpack(encoded))


def _piece_sizes(size: int, piece: int) -> list[int]:
    """Base64 characters of each piece of `size` bytes cut every `piece` bytes."""
    full, rest = divmod(size, piece)
    return [-(-piece // 3) * 4] * full + ([-(-rest // 3) * 4] if rest else [])


@functools.lru_cache(maxsize=16)
def _line_layout(size: int, piece: int, width: int) -> struct.Struct:
    """The lines of the base64 text of `size` bytes, as a struct format of
    their lengths ("76s76s...64s...")."""
    cuts: list[int] = []
    start = 0
    for chars in _piece_sizes(size, piece):
        cuts.extend(range(start + width, start + chars, width))
        start += chars
    ends = zip([0, *cuts], [*cuts, start], strict=True)
    return struct.Struct("".join(f"{end - begin}s" for begin, end in ends))


def base64_size(size: int, piece: int, width: int = 76) -> tuple[int, int]:
    """(characters, line breaks) of `base64_lines` for `size` bytes, without
    encoding them (for SMTP SIZE)."""
    if not size:
        return 0, 0
    counts = _piece_sizes(size, piece or size)
    breaks = sum((count - 1) // width for count in counts) if width > 0 else 0
    return sum(counts), breaks


_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


class Base64Error(ValueError):
    """tcllib's base64 decoding failed (the text is Tcl's error message)."""


def base64_decode(text: str) -> bytes:
    """tcllib `base64::decode`, the one decoder of base64 from outside
    (encoded words, parsed bodies, SASL challenges): every character outside
    the alphabet is dropped, padding included, and the rest decoded; a lone
    character after the last group of four is an error, as Tcl's
    `binary decode base64 -strict` makes it."""
    clean = _NOT_BASE64.sub("", text)
    if len(clean) % 4 == 1:
        raise Base64Error(f'invalid base64 character "{clean[-1]}" at position {len(clean) - 1}')
    # Only the alphabet is left, padded: this cannot fail.
    return binascii.a2b_base64(clean + "=" * (-len(clean) % 4))


def _base64_text(text: str) -> str:
    """`base64_decode` as tcllib's mime sees it: a byte string or the
    error Tcl's decoder gives."""
    try:
        return base64_decode(text).decode("latin-1")
    except Base64Error as exc:
        raise MimeError(str(exc), MimeKind.BAD_BASE64) from None


def decode_body(text: str, encoding: str) -> str:
    """tcllib's decoding of a parsed base64 or quoted-printable body."""
    if encoding == "quoted-printable":
        # qp_decode knows only "=\n" soft breaks; a body with CRLF line ends
        # (every top-level part of real mail) has "=\r\n" (COMPAT qp-crlf).
        return qp_decode(text.replace("=\r\n", ""))
    return _base64_text(text)


# --- mime::uniqueID ---------------------------------------------------------

_unique_counter = itertools.count(1)


def next_counter() -> int:
    """The counter tcllib keeps for uniqueID (and thus Content-ID)."""
    return next(_unique_counter)


def unique_id() -> str:
    """`mime::uniqueID`: `<pid.seconds.N@host>`."""
    return f"<{os.getpid()}.{int(time.time())}.{next_counter()}@{socket.gethostname()}>"


# --- RFC 2047 encoded words ---------------------------------------------------


def word_encode(
    charset: str,
    method: str,
    text: str,
    *,
    charset_encoded: bool = True,
    maxlength: int | float | Callable[[], int | float] = 66,
    maxlength_text: str | None = None,
) -> str:
    """`mime::word_encode charset method string ?-charset_encoded b? ?-maxlength n?`.

    `maxlength` may be a callable: tcllib only evaluates it (with Tcl's
    number rules) when the string is not empty. `maxlength_text` is how the
    caller wrote it, for the error message."""
    mime_name = mime_charset(charset)
    if mime_name is None:
        raise MimeError(f"unknown charset '{charset}'")
    if mime_name == "":
        raise MimeError(f"invalid charset '{charset}'")
    if method not in ("base64", "quoted-printable"):
        raise MimeError(f"unknown method '{method}', must be base64 or quoted-printable")
    plain = tcl_decode(charset, text) if charset_encoded else text
    if not plain:
        return ""
    if callable(maxlength):
        maxlength = maxlength()
    shown = str(maxlength) if maxlength_text is None else maxlength_text
    room = maxlength - len(mime_name) - 7
    words: list[str] = []
    if method == "base64":
        if room < 4:
            raise MimeError(f"maxlength {shown} too short for chosen charset and encoding")
        # Tcl divides integers as integers and floats as floats.
        room = (room // 4) * 3 if isinstance(room, int) else room / 4 * 3
        for chunk in _pack(plain, lambda c: tcl_encode(charset, c), room, strict=False):
            words.append(f"=?{mime_name}?B?{base64_encode(chunk).replace(chr(10), '')}?=")
    else:
        if room < 1:
            raise MimeError(f"maxlength {shown} too short for chosen charset and encoding")

        def encode_char(c: str) -> str:
            return qp_encode(tcl_encode(charset, c), True)

        for chunk in _pack(plain, encode_char, room, strict=True, maxlength=maxlength):
            words.append(f"=?{mime_name}?Q?{chunk}?=")
    return "\n ".join(words)


def _pack(
    plain: str,
    encode_char: Callable[[str], str],
    room: int | float,
    *,
    strict: bool,
    maxlength: int | float = 0,
) -> Iterable[str]:
    """Group encoded characters into pieces of at most `room` characters
    (a float where the script's -maxlength was one)."""
    count = 0
    while count < len(plain):
        length: int | float = 0
        piece: list[str] = []
        while length < room and count < len(plain):
            enc = encode_char(plain[count])
            if strict and len(enc) > room:
                raise MimeError(
                    f"maxlength {maxlength} too short for chosen charset and encoding"
                )
            if length + len(enc) > room:
                length = room
            else:
                piece.append(enc)
                count += 1
                length += len(enc)
        yield "".join(piece)


_WORD = re.compile(r"=\?([^?]+)\?(.)\?([^?]*)\?=", re.S)


def word_decode(encoded: str) -> tuple[str, str, str]:
    """`mime::word_decode`: (tcl encoding, method, decoded byte string)."""
    found = _WORD.search(encoded)
    if not found:
        raise MimeError(f"malformed word-encoded expression '{encoded}'")
    charset, method, text = found.groups()
    enc = tcl_encoding(charset)
    if not enc:
        raise MimeError(f"unknown charset '{charset}'")
    if method in ("b", "B"):
        return enc, "base64", _base64_text(text)
    if method in ("q", "Q"):
        return enc, "quoted-printable", qp_decode(text, True)
    raise MimeError(f"unknown method '{method}', must be B or Q")


def field_decode(field: str) -> str:
    """`mime::field_decode`: decode every encoded word of a header field.

    tcllib matches `(.*?)(WORD)(.*)` again on the rest after each word; the
    leftmost WORD from where the last one ended is the same match, found
    without copying the rest each time (which made it quadratic)."""
    out: list[str] = []
    end = 0
    for found in _WORD.finditer(field):
        prefix = field[end : found.start()]
        if prefix and not _is_tcl_space(prefix):
            out.append(prefix)
        enc, _method, data = word_decode(found.group())
        out.append(tcl_decode(enc, data))
        end = found.end()
    out.append(field[end:])
    return "".join(out)


def _is_tcl_space(text: str) -> bool:
    return all(c.isspace() for c in text)
