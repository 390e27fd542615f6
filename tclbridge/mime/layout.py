"""tcllib's way of writing MIME, in one place.

Like CPython email's `Compat32` policy, this object holds every rule that
makes the output tcllib's rather than anyone's: which headers appear and in
what order, how Content-Type parameters are laid out, when a transfer
encoding is chosen for you, and the chunking that shapes encoded file bodies.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import os
import re
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from tclbridge.engine_errors import MimeError

# Characters Tcl's `string trimright` removes by default.
TCL_SPACE = (
    "\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
)

KNOWN_ENCODINGS = ("7bit", "8bit", "binary", "quoted-printable", "base64")
_ISO_8859_1_TO_8 = re.compile(r"iso-8859-[1-8]")
# Anything but tab, LF and printable ASCII may make a line "not ASCII".
_MAYBE_NOT_ASCII = re.compile(r"[^\t\n\x20-\x7e]")
_Layout = TypeVar("_Layout", bound="TcllibLayout")

# Where a part's value is: its own string, a file, or sub-parts.
Value = Literal["string", "file", "parts"]


class LaidOutPart(Protocol):
    """What the layout reads of a part (`tclbridge.mime.model.Part` is one):
    a protocol, so that the layout sits below the part model and imports
    nothing of it."""

    version: str
    content: str
    params: dict[str, str]
    encoding: str
    value: Value
    canonical: bool
    file: str | None
    generated_boundary: str | None

    @property
    def parts(self) -> Sequence[LaidOutPart]: ...

    def raw_fields(self) -> list[tuple[str, str]]: ...

    def iter_raw_text(self, chunk_size: int) -> Iterator[str]: ...

    def raw_size(self) -> int: ...


def tcl_array_order(keys: Iterable[str]) -> list[str]:
    """The order `array get` lists the keys of a Tcl array filled in this order.

    Tcl 8.6 keeps array elements in a hash table (4 buckets to start, four
    times more whenever entries reach three per bucket) and walks it bucket
    by bucket, newest entry first. tcllib returns parameters and properties
    straight from such arrays, so their order is this one.
    """
    # Each bucket is kept newest entry last (adding to the chain's head is
    # an append) and keys seen in a set: with keys made to collide (the hash
    # is easy to collide) one long chain would make inserting at its front
    # and searching it quadratic.
    size = 4
    buckets: list[list[str]] = [[] for _ in range(size)]
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        buckets[_tcl_hash(key) & (size - 1)].append(key)
        if len(seen) >= size * 3:
            size *= 4
            grown: list[list[str]] = [[] for _ in range(size)]
            for old in buckets:
                for entry in reversed(old):
                    grown[_tcl_hash(entry) & (size - 1)].append(entry)
            buckets = grown
    return [key for bucket in buckets for key in reversed(bucket)]


def _tcl_hash(key: str) -> int:
    value = 0
    for byte in key.encode("utf-8", "surrogatepass"):
        value = (value + (value << 3) + byte) & 0xFFFFFFFF
    return value


class LineScan:
    """Feeds text in pieces; answers tcllib's two questions about its lines:
    is every line ASCII (no CR, no controls), and is every line "safe" for
    plain transfer (≤ 76 chars, no trailing white space, no leading "." or
    "From ")."""

    def __init__(self, long_line: int) -> None:
        self.long_line = long_line
        self.ascii = True
        self.safe = True
        self._length = 0
        self._head = ""
        self._last = ""

    @property
    def done(self) -> bool:
        return not self.ascii and not self.safe

    def feed(self, text: str) -> None:
        first, newline, rest = text.partition("\n")
        self._extend(first)
        if not newline:
            return
        self._end_line()
        # The whole lines in between are checked by a few regex scans rather
        # than a Python step per line (a large text part has ~100k lines).
        middle, newline, last = rest.rpartition("\n")
        if newline:
            if self.ascii and not _is_ascii(middle):
                self.ascii = False
            if self.safe and _has_unsafe_line(middle, self.long_line):
                self.safe = False
        self._extend(last)

    def close(self) -> None:
        if self._length:
            self._end_line()

    def _extend(self, piece: str) -> None:
        if not piece:
            return
        if self.ascii and not _is_ascii(piece):
            self.ascii = False
        self._length += len(piece)
        if len(self._head) < 5:
            self._head = (self._head + piece)[:5]
        self._last = piece[-1]

    def _end_line(self) -> None:
        if self.safe and (
            self._length > self.long_line
            or (self._last and self._last in TCL_SPACE)
            or self._head.startswith(".")
            or self._head.startswith("From ")
        ):
            self.safe = False
        self._length = 0
        self._head = self._last = ""


def _has_unsafe_line(lines: str, long_line: int) -> bool:
    """Whether any of these LF-separated lines is one `_end_line` calls
    unsafe. Each pattern begins with a literal or a character class, which
    the regex engine skips to quickly; one alternation of them all would be
    tried at every position, ten times slower."""
    first, later, blank_end = _unsafe_patterns(long_line)
    return bool(first.match(lines) or later.search(lines) or blank_end.search(lines))


@functools.lru_cache(maxsize=4)
def _unsafe_patterns(long_line: int) -> tuple[re.Pattern[str], ...]:
    start = rf"(?:[^\n]{{{long_line + 1}}}|\.|From )"
    blanks = re.escape(TCL_SPACE.replace("\n", ""))
    return re.compile(start), re.compile("\n" + start), re.compile(rf"[{blanks}](?:\n|\Z)")


def _is_ascii(text: str) -> bool:
    for found in _MAYBE_NOT_ASCII.finditer(text):
        code = ord(found.group())
        # A char above 0xFF passes when its low byte is printable ASCII:
        # tcllib inspects chars through a byte conversion.
        if code <= 0xFF or not 32 <= (code & 0xFF) <= 126:
            return False
    return True


@dataclass(frozen=True)
class TcllibLayout:
    """The quirks of tcllib mime 1.7 (with the fixes of 1.7.2)."""

    mime_version: str = "1.0"
    # Content-Type parameters each go on a continuation line this indented.
    param_separator: str = ";\n              "
    boundary_prefix: str = "----- =_"
    # Longest line that needs no transfer encoding.
    long_line: int = 76
    # tcllib encodes file bodies in pieces of this many bytes, each on its
    # own, so base64 lines restart (and run long) at each piece's end.
    file_piece: int = 32766
    # Pieces read from a file at once (a multiple of file_piece).
    file_read: int = 32766 * 4
    base64_line: int = 76
    # The whole-file scans (see `scan`) of the parts parsed from a file, by
    # its path: the parser sets them on its copy of the layout.
    file_scans: MutableMapping[str, tuple[bool, bool]] | None = field(
        default=None, compare=False, repr=False
    )

    def clone(self: _Layout, **changes: Any) -> _Layout:
        """A copy with `changes`, of this layout's own class: a caller's
        subclass keeps its quirks."""
        return dataclasses.replace(self, **changes)

    # -- headers ----------------------------------------------------------

    def header_fields(self, part: LaidOutPart, *, choose: bool = True) -> list[tuple[str, str]]:
        """What `mime::getheader $tok` lists, in order: MIME-Version, the
        part's own headers, Content-Transfer-Encoding, Content-Type.

        With `choose` False, a transfer encoding the part does not name is
        left out rather than chosen (which reads the body): every value
        that can hold text from outside is still there."""
        fields = [("MIME-Version", part.version)]
        fields.extend(part.raw_fields())
        encoding = self.transfer_encoding(part) if choose else part.encoding
        if encoding:
            fields.append(("Content-Transfer-Encoding", encoding))
        fields.append(("Content-Type", self.content_type(part)))
        return fields

    def content_type(self, part: LaidOutPart) -> str:
        """The Content-Type value: type, one parameter per line, boundary."""
        text = part.content
        for key in tcl_array_order(part.params):
            text += f'{self.param_separator}{key}="{part.params[key]}"'
        if part.content.startswith("multipart/") and "boundary" not in part.params:
            text += f'{self.param_separator}boundary="{self.boundary(part)}"'
        return text

    def boundary(self, part: LaidOutPart) -> str:
        """The delimiter between sub-parts: the boundary parameter, or one
        made up for a multipart, or nothing at all (tcllib writes bare "--"
        lines for other containers)."""
        if "boundary" in part.params:
            return part.params["boundary"]
        if not part.content.startswith("multipart/"):
            return ""
        return self.generated(part)

    def generated(self, part: LaidOutPart) -> str:
        if "boundary" in part.params:
            return part.params["boundary"]
        if part.generated_boundary is None:
            digest = os.urandom(16).hex().upper().encode("ascii")
            part.generated_boundary = self.boundary_prefix + base64.b64encode(digest).decode()
        return part.generated_boundary

    # -- transfer encoding --------------------------------------------------

    def transfer_encoding(self, part: LaidOutPart) -> str:
        """The Content-Transfer-Encoding written (maybe chosen) for `part`."""
        encoding = part.encoding or self.choose_encoding(part)
        if encoding not in KNOWN_ENCODINGS and encoding != "":
            raise MimeError(f'Can\'t handle content encoding "{encoding}"')
        return encoding

    def body_converter(self, part: LaidOutPart) -> str:
        """The encoding applied to the body when writing (canonical leaves)."""
        if part.value == "parts" or not part.canonical:
            return ""
        encoding = self.transfer_encoding(part)
        return encoding if encoding in ("base64", "quoted-printable") else ""

    def choose_encoding(self, part: LaidOutPart) -> str:
        content = part.content
        if content.startswith(("audio/", "image/", "video/")):
            return "base64"
        if content.startswith(("message/", "multipart/")) or part.value == "parts":
            return ""
        ascii_only, safe = self.scan(part)
        if content.startswith("text/"):
            if not ascii_only and "charset" in part.params:
                charset = part.params["charset"].lower()
                if charset != "us-ascii" and not _ISO_8859_1_TO_8.fullmatch(charset):
                    return "base64"
            return "" if safe else "quoted-printable"
        return "" if ascii_only and safe else "base64"

    def scan(self, part: LaidOutPart) -> tuple[bool, bool]:
        """(only ASCII, no line needs encoding) for the part's raw text.

        For a part parsed from a file, tcllib scans the *whole file* (not
        the part's bytes): N scans for a file of N parts, all with the same
        answer, so it is kept in `file_scans` when the parser gave it one."""
        if self.file_scans is None or part.canonical or part.value != "file" or part.file is None:
            return self._scan(part)
        known = self.file_scans.get(part.file)
        if known is None:
            known = self.file_scans[part.file] = self._scan(part)
        return known

    def _scan(self, part: LaidOutPart) -> tuple[bool, bool]:
        scan = LineScan(self.long_line)
        for text in part.iter_raw_text(self.file_read):
            scan.feed(text)
            if scan.done:
                break
        else:
            scan.close()
        return scan.ascii, scan.safe

    # -- size ---------------------------------------------------------------

    def size(self, part: LaidOutPart) -> int:
        """`mime::getproperty $tok size`."""
        if part.value == "parts":
            return sum(self.size(child) for child in part.parts)
        size = part.raw_size()
        if not part.canonical and part.encoding == "base64":
            size = (size * 3 + 2) // 4
        return size


TCLLIB = TcllibLayout()
