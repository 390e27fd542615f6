"""Parsing an existing message (`mime::initialize -string/-file` without
-canonical), the way tcllib's mime 1.7 does it.

tcllib reads the header block line by line (continuation lines keep their
line break), then either keeps the rest as the body, parses it again as the
single child of a message/* part, or cuts a multipart at its boundary lines
and parses each piece as a child part. One loop does that here for both
input kinds; a line source (`_StringSource`, `_FileSource`) holds what
tcllib does differently with each, because scripts can see it:

* a string is split into lines once; a multipart's pieces lose one trailing
  CR per line, and running out of lines inside a multipart is an error;
* a file is parsed by byte offsets; pieces keep their bytes as they are, and
  running past the end of a part ends the multipart (the piece becomes
  application/octet-stream).

Parsing runs as generators driven by an explicit stack (`_drive`), so deep
nesting costs no Python recursion; `MAX_DEPTH` caps it with a clear error.
A string is parsed in time linear in its size at any depth: a multipart
finds its boundary lines in one index of the string's `--` lines instead
of reading its body again. A file is read line by line, never held whole;
its multipart still reads every line of its range (as tcllib does), so
nested multiparts in a file cost depth x size."""

from __future__ import annotations

import bisect
import os
from collections import OrderedDict
from collections.abc import Generator, Iterator, MutableMapping
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from tclbridge.engine_errors import MimeError, MimeKind
from tclbridge.mime.layout import TCL_SPACE, TcllibLayout
from tclbridge.mime.model import Part, file_error, os_path
from tclbridge.mime.transfer_encodings import decode_body

# tcllib itself gives up (silently, by running out of Tcl stack) near 500
# levels; we stop earlier, with a message, so the trees we build stay
# well inside Python's limits when they are written or measured.
MAX_DEPTH = 250

# A part's parse: it yields the parse of each child and is sent the child's
# Part back (None only to start it), and returns its own Part.
_Parse = Generator["_Parse", "Part | None", "Part"]
# The parse of a multipart's pieces (or one piece): it returns nothing, a
# forced piece that failed to parse is dropped (tcllib has spent its number).
_PieceParse = Generator[_Parse, "Part | None", None]


# -- the Content-Type lexer ----------------------------------------------------

_TYPE_SPECIALS = ';,<>:?()@"[]=/\\'
_ATOM_END = " \t\n" + _TYPE_SPECIALS


class _TypeLexer:
    """Lexemes of a Content-Type value (RFC 822 rules as tcllib applies them)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.buffer = ""

    def next(self) -> str:
        """The next lexeme kind: ATOM, QSTRING, DLITERAL, END, ERR or the special."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in TCL_SPACE:
                self.pos += 1
            if self.pos >= len(self.text):
                self.buffer = "end-of-input"
                return "END"
            c = self.text[self.pos]
            if c == "(":
                if not self._skip_comment():
                    return "ERR"
                continue
            if c == '"':
                return self._delimited('"', "QSTRING")
            if c == "[":
                return self._delimited("]", "DLITERAL")
            if c in _TYPE_SPECIALS:
                self.pos += 1
                self.buffer = c
                return c
            return self._atom()

    def _skip_comment(self) -> bool:
        depth, quoted = 0, False
        while self.pos < len(self.text):
            c = self.text[self.pos]
            self.pos += 1
            if quoted:
                quoted = False
            elif c == "\\":
                quoted = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth < 1:
                    return True
        self.buffer = "end-of-input during comment"
        return False

    def _delimited(self, close: str, kind: str) -> str:
        begin = self.pos
        self.pos += 1
        quoted = False
        while self.pos < len(self.text):
            c = self.text[self.pos]
            self.pos += 1
            if quoted:
                quoted = False
            elif c == "\\":
                quoted = True
            elif c == close:
                self.buffer = self.text[begin : self.pos]
                return kind
        self.buffer = "end-of-input"
        return "ERR"

    def _atom(self) -> str:
        begin = self.pos
        self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] not in _ATOM_END:
            self.pos += 1
        self.buffer = self.text[begin : self.pos]
        return "ATOM"


def parse_type(value: str) -> tuple[str, dict[str, str]] | None:
    """Content-Type value -> (type/subtype, params), or None if tcllib
    would reject it (it then ignores the header)."""
    lex = _TypeLexer(value)
    if lex.next() != "ATOM":
        return None
    kind = lex.buffer.lower()
    after = lex.next()
    if after == "END":
        return ("message/rfc822", {}) if kind == "message" else None
    if after != "/" or lex.next() != "ATOM":
        return None
    kind += "/" + lex.buffer.lower()
    params: dict[str, str] = {}
    while True:
        found = lex.next()
        if found == "END":
            return kind, params
        if found != ";":
            return None
        found = lex.next()
        if found == "END":
            return kind, params
        if found != "ATOM":
            return None
        attribute = lex.buffer.lower()
        if lex.next() != "=":
            return None
        found = lex.next()
        if found == "QSTRING":
            params[attribute] = lex.buffer[1:-1]
        elif found == "ATOM":
            params[attribute] = lex.buffer
        else:
            return None


# -- line sources ----------------------------------------------------------------
#
# One parsing loop (`_parse`, `_multipart`) reads every part; a source gives
# it lines and knows what tcllib's two input kinds do differently.


@dataclass(frozen=True)
class _Delimiter:
    """A boundary line a multipart found: the piece before it ends at `end`
    (exclusive), the next one starts at `after` (line numbers of a string,
    byte offsets of a file)."""

    closing: bool
    # Made up at the end of a file part's span (tcllib then forces the
    # piece to application/octet-stream).
    forced: bool
    end: int
    after: int


class _Source(Protocol):
    """The text of one part being parsed, read once from its start."""

    @property
    def file(self) -> str | None:
        """The file parts parsed from it refer to (None for a string)."""

    # How running out of input inside a multipart is reported.
    end_of_input: str

    def header_line(self) -> str | None:
        """The next line of the header block, None past the part's end."""

    def begin_body(self, part: Part) -> None:
        """The header block has been read: the body starts here."""

    def keep_body(self, part: Part) -> None:
        """Make the body (from where it starts) the value of a leaf part."""

    def message_body(self, part: Part) -> _Source:
        """The body of a message/* part, to parse as its child."""

    def next_delimiter(self, opening: str, closing: str) -> _Delimiter | None:
        """The next line that is `opening` or `closing` (one trailing CR
        ignored), None when the input ends first."""

    def piece(self, start: int, delimiter: _Delimiter) -> _Source:
        """A multipart's piece from `start` to the delimiter ending it."""

    def unopened_piece(self, delimiter: _Delimiter, opening: str) -> _Source:
        """What tcllib tries as the only piece when a closing line comes
        before any opening one."""


class _Lines:
    """A string split at LF, shared by every part parsed from it, with an
    index of its boundary-like lines (made once, on first use) so that a
    multipart finds its boundaries without reading the lines in between:
    nested multiparts then cost the size of the string, not depth x size."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._dashes: dict[tuple[str, int], list[int]] | None = None

    def dashes(self) -> dict[tuple[str, int], list[int]]:
        """(line without trailing CRs, number of them) -> its line numbers,
        in order, for every line starting with "--"."""
        if self._dashes is None:
            index: dict[tuple[str, int], list[int]] = {}
            for number, text in enumerate(self.lines):
                if text.startswith("--"):
                    key = text.rstrip("\r")
                    index.setdefault((key, len(text) - len(key)), []).append(number)
            self._dashes = index
        return self._dashes


class _StringSource:
    """Lines [start, end) of a split string; up to `strip` trailing CRs are
    removed from each (one per enclosing multipart, as tcllib does). A
    multipart's pieces keep their lines' order; running out of lines inside
    a multipart is an error."""

    file = None
    end_of_input = "end-of-string"

    def __init__(self, lines: _Lines, start: int, end: int, strip: int = 0) -> None:
        self.lines = lines
        self.end = end
        self.strip = strip
        self.current = self.body = start

    @classmethod
    def of(cls, text: str) -> _StringSource:
        lines = text.split("\n")
        return cls(_Lines(lines), 0, len(lines))

    def line(self, index: int) -> str:
        text = self.lines.lines[index]
        if self.strip and text.endswith("\r"):
            text = text[: max(len(text) - self.strip, len(text.rstrip("\r")))]
        return text

    def header_line(self) -> str | None:
        if self.current >= self.end:
            return None
        self.current += 1
        return self.line(self.current - 1)

    def begin_body(self, part: Part) -> None:
        self.body = self.current

    def keep_body(self, part: Part) -> None:
        part.value = "string"
        if not self.strip:
            part.string = "\n".join(self.lines.lines[self.body : self.end])
        else:
            part.string = "\n".join(self.line(i) for i in range(self.body, self.end))

    def message_body(self, part: Part) -> _Source:
        if part.encoding in ("base64", "quoted-printable"):
            return _StringSource.of(decode_body(part.string, part.encoding))
        return _StringSource(self.lines, self.body, self.end, self.strip)

    def boundary_line(self, index: int) -> str:
        """A line as a multipart compares it with its boundary: one more CR
        (or nothing from an empty line) removed."""
        line = self.line(index)
        return line[:-1] if line.endswith("\r") else line

    def next_delimiter(self, opening: str, closing: str) -> _Delimiter | None:
        found = min(self._find(opening), self._find(closing))
        if found >= self.end:
            return None
        self.current = found + 1
        return _Delimiter(self.boundary_line(found) == closing, False, found, found + 1)

    def _find(self, wanted: str) -> int:
        """The first line from `current` whose `boundary_line` is `wanted`
        (which starts with "--"), or `end`: looked up in the index."""
        # boundary_line removes up to strip + 1 trailing CRs: a line matches
        # when the rest of it is wanted's own trailing CRs.
        key = wanted.rstrip("\r")
        own = len(wanted) - len(key)
        counts = range(self.strip + 2) if own == 0 else (own + self.strip + 1,)
        dashes = self.lines.dashes()
        best = self.end
        for count in counts:
            numbers = dashes.get((key, count))
            if numbers:
                at = bisect.bisect_left(numbers, self.current)
                if at < len(numbers) and numbers[at] < best:
                    best = numbers[at]
        return best

    def piece(self, start: int, delimiter: _Delimiter) -> _Source:
        return _StringSource(self.lines, start, delimiter.end, self.strip + 1)

    def unopened_piece(self, delimiter: _Delimiter, opening: str) -> _Source:
        # The boundary-like lines seen so far (read once: the multipart
        # ends with this piece).
        traced = [
            line
            for line in map(self.boundary_line, range(self.body, delimiter.end + 1))
            if line.startswith(opening)
        ]
        return _StringSource(_Lines(traced), 0, len(traced))


class _FileLines:
    """The lines of an open file, read at any position by every part parsed
    from it, one at a time: a parsed file is never held in memory whole."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size
        self._at = 0  # where the handle is

    def line_at(self, pos: int, keep: int = -1) -> tuple[bytes, int, int] | None:
        """The line starting at `pos` without its LF (or only its first
        `keep` bytes: the rest is read in blocks and dropped), its length
        and where the next line starts; None at the end of the file."""
        if pos >= self._size:
            return None
        if self._at != pos:
            self._handle.seek(pos)
        head = chunk = self._handle.readline(keep)
        read = len(chunk)
        while keep > 0 and chunk and not chunk.endswith(b"\n"):
            chunk = self._handle.readline(1 << 16)
            read += len(chunk)
        self._at = pos + read
        has_lf = chunk.endswith(b"\n")
        return head.removesuffix(b"\n"), read - has_lf, self._at


class _FileSource:
    """The bytes [offset, offset + count) of a file (as latin-1 chars).
    Positions count each line as its length plus one, as tcllib's do; a
    parsed part is a byte range of the file, kept as it is; running past
    the end of a part ends a multipart with a made-up closing line."""

    end_of_input = "end-of-file"

    def __init__(self, lines: _FileLines, file: str, offset: int, count: int) -> None:
        self.lines = lines
        self.file = file
        self.offset = offset
        self.count = count
        self.last = offset + count - 1
        self.pos = offset  # where the next line starts
        self.tell = offset  # where the last line read ended in the file
        self.body = offset

    def _line(self, keep: int = -1) -> tuple[bytes, int] | None:
        """`line_at` the next line; None at the end of the file."""
        found = self.lines.line_at(self.pos, keep)
        if found is None:
            return None
        line, length, self.tell = found
        return line, length

    def header_line(self) -> str | None:
        if self.pos > self.last:
            return None
        found = self._line()
        if found is None or not found[1]:
            return ""  # an empty line, or the end of the file: both end the block
        line, length = found
        self.pos += length + 1
        return line.decode("latin-1")

    def begin_body(self, part: Part) -> None:
        # The count may go negative (headers read past the span), as in tcllib.
        self.pos = self.body = part.offset = self.tell
        part.count = self.count + self.offset - self.tell

    def keep_body(self, part: Part) -> None:
        part.value = "file"

    def message_body(self, part: Part) -> _Source:
        return _FileSource(self.lines, self.file, part.offset, part.count)

    def next_delimiter(self, opening: str, closing: str) -> _Delimiter | None:
        # Compared as bytes: a file's boundary comes from its latin-1 chars.
        wanted = opening.encode("latin-1")
        ending = closing.encode("latin-1")
        keep = len(ending) + 2  # a longer line is no boundary line
        while True:
            forced = self.pos > self.last
            found = (ending, len(ending)) if forced else self._line(keep)
            if found is None:
                return None
            line, length = found
            self.pos += length + 1
            if not line.startswith(b"--"):
                continue  # the usual line: not a boundary (both start with "--")
            cr = line.endswith(b"\r")
            bare = line[:-1] if cr else line
            if bare == wanted or bare == ending:
                end = self.pos - (length + 2 + cr)
                return _Delimiter(bare == ending, forced, end, self.pos)

    def piece(self, start: int, delimiter: _Delimiter) -> _Source:
        return _FileSource(self.lines, self.file, start, max(delimiter.end - start, 0))

    def unopened_piece(self, delimiter: _Delimiter, opening: str) -> _Source:
        # Everything from the start of the body.
        return self.piece(self.body, delimiter)


# -- headers ------------------------------------------------------------------------


class _Headers:
    """Collects header lines into a part, with tcllib's checks."""

    def __init__(self, part: Part) -> None:
        self.part = part
        # The lines of the field being read: joined once it is complete, as
        # appending each continuation line to a string is quadratic.
        self.pending: list[str] = [""]

    def feed(self, line: str, blank: bool) -> bool:
        """One line of the header block; True when the block has ended."""
        if not blank and line[:1] in (" ", "\t"):
            self.pending.append(line)
            return False
        text = "\n".join(self.pending)
        if text:
            self._field(text)
        self.pending = [""] if blank else [line]
        return blank

    def _field(self, text: str) -> None:
        colon = text.find(":")
        name = text[:colon].rstrip(TCL_SPACE) if colon > 0 else ""
        if not name:
            raise MimeError(f"improper line in header: {text}")
        value = text[colon + 1 :].strip(TCL_SPACE)
        lower = name.lower()
        part = self.part
        if lower == "content-type":
            if part.content:
                raise MimeError(f"multiple Content-Type fields starting with {text}")
            parsed = parse_type(value)
            if parsed is not None:
                part.content, part.params = parsed
        elif lower == "content-transfer-encoding":
            if part.encoding and part.encoding != value.lower():
                raise MimeError(f"multiple Content-Transfer-Encoding fields starting with {text}")
            part.encoding = value.lower()
        elif lower == "mime-version":
            part.version = value
        elif lower != "content-md5":
            part.add_header(name, value)

    def finish(self) -> None:
        if not self.part.content:
            self.part.content = "text/plain"
            self.part.params = {"charset": "us-ascii"}


def _read_headers(part: Part, source: _Source) -> None:
    """Read the header block into `part`."""
    headers = _Headers(part)
    while True:
        line = source.header_line()
        # The end of the part, an empty line or a lone CR ends the block.
        # (tcllib 1.7.0 appends a "]" where it removes a CR, a typo; we do not.)
        blank = not line
        if line and line.endswith("\r"):
            line, blank = line[:-1], len(line) == 1
        if headers.feed(line or "", blank):
            break
    headers.finish()


# -- parts ------------------------------------------------------------------------------


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise MimeError(
            f"MIME parts nested too deeply (more than {MAX_DEPTH} levels)",
            MimeKind.TOO_DEEP,
        )


def _boundary(part: Part) -> str:
    boundary = part.params.get("boundary", "")
    if boundary == "":
        raise MimeError(f"boundary parameter is missing in {part.content}")
    if boundary.strip(TCL_SPACE) == "":
        raise MimeError(f"boundary parameter is empty in {part.content}")
    return boundary


def _parse(source: _Source, layout: TcllibLayout, depth: int) -> _Parse:
    """Parse one part: its header block, then its body as a leaf, as the
    single child of a message/* part, or as a multipart's pieces."""
    _check_depth(depth)
    part = Part(layout)
    part.canonical = False
    part.file = source.file
    _read_headers(part, source)
    source.begin_body(part)
    if part.content.startswith("multipart/"):
        yield from _multipart(part, source, depth)
        return part
    source.keep_body(part)
    if part.content.startswith("message/"):
        child = yield _parse(source.message_body(part), layout, depth + 1)
        assert child is not None  # the driver sends a finished child's Part
        _adopt(part, child)
    return part


def _multipart(part: Part, source: _Source, depth: int) -> _PieceParse:
    """Cut the body at its boundary lines; each piece between two of them is
    parsed as the next sub-part, up to the closing line."""
    boundary = _boundary(part)
    opening, closing = "--" + boundary, "--" + boundary + "--"
    part.value = "parts"
    start: int | None = None  # where the piece being read starts, once inside
    while True:
        delimiter = source.next_delimiter(opening, closing)
        if delimiter is None:
            raise MimeError(f"{source.end_of_input} encountered while parsing {part.content}")
        if start is None:
            if not delimiter.closing:
                start = delimiter.after
                continue
            # A closing line before any opening one: tcllib tries one
            # piece as application/octet-stream, and is done.
            piece, forced = source.unopened_piece(delimiter, opening), True
        else:
            piece, forced = source.piece(start, delimiter), delimiter.forced
        yield from _child(part, piece, depth, forced=forced)
        if delimiter.closing:
            return
        start = delimiter.after


def _child(part: Part, piece: _Source, depth: int, *, forced: bool) -> _PieceParse:
    """Parse one piece of a multipart as the next sub-part."""
    try:
        child = yield _parse(piece, part.layout, depth + 1)
    except MimeError:
        if not forced:
            raise
        part.parsed_children.append(None)
        return
    assert child is not None  # the driver sends a finished child's Part
    if forced:
        child.content = "application/octet-stream"
    _adopt(part, child)


def _adopt(part: Part, child: Part) -> None:
    part.value = "parts"
    part.parts.append(child)
    part.parsed_children.append(child)


def _drive(root: _Parse) -> Part:
    """Run parse generators without Python recursion: a generator yields a
    child's generator and is resumed with its result (or its error)."""
    stack: list[_Parse] = [root]
    result: Part | None = None
    error: MimeError | None = None
    while True:
        gen = stack[-1]
        try:
            request = gen.throw(error) if error is not None else gen.send(result)
        except StopIteration as done:
            stack.pop()
            result, error = done.value, None
            if not stack:
                return done.value
            continue
        except MimeError as exc:
            stack.pop()
            if not stack:
                raise
            result, error = None, exc
            continue
        result, error = None, None
        stack.append(request)


# -- whole-file scans shared by a mailbox's messages ------------------------------


class UnchangedFileScans(MutableMapping[str, tuple[bool, bool]]):
    """Whole-file scan answers shared by the messages parsed from one
    mailbox (`-root`): tcllib scans the whole mailbox again for each message,
    N times its size for N messages. An answer is used only while the file
    has the inode, size and modification time it had when it was stored;
    the newest `limit` files are kept."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._answers: OrderedDict[str, tuple[tuple[int, ...], tuple[bool, bool]]] = (
            OrderedDict()
        )

    @staticmethod
    def _identity(path: str) -> tuple[int, ...] | None:
        try:
            info = os.stat(os_path(path))
        except OSError:
            return None
        return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)

    def __getitem__(self, path: str) -> tuple[bool, bool]:
        identity, answer = self._answers[path]
        if identity != self._identity(path):
            del self._answers[path]
            raise KeyError(path)
        self._answers.move_to_end(path)
        return answer

    def __setitem__(self, path: str, answer: tuple[bool, bool]) -> None:
        identity = self._identity(path)
        if identity is None:
            return  # gone already: nothing to vouch for
        self._answers[path] = (identity, answer)
        self._answers.move_to_end(path)
        while len(self._answers) > self.limit:
            self._answers.popitem(last=False)

    def __delitem__(self, path: str) -> None:
        del self._answers[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._answers)

    def __len__(self) -> int:
        return len(self._answers)


# -- entry points -------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSpan:
    """The bytes [offset, offset + count) of a file parsed as one message
    (the count may reach past the end of the file, or be negative)."""

    offset: int
    count: int


def parse_part(
    part: Part,
    layout: TcllibLayout,
    *,
    span: FileSpan | None = None,
    scans: MutableMapping[str, tuple[bool, bool]] | None = None,
) -> Part:
    """Parse the `-string` or `-file` value given to `mime::initialize`.

    With a `span`, only those bytes of the file are the message (one
    message of a mailbox); `scans` then holds the whole-file scans its parts
    may share with the mailbox's other messages."""
    if part.value != "file":
        return _drive(_parse(_StringSource.of(part.string), layout, 1))
    assert part.file is not None
    # The parts of one file share its whole-file scans (TcllibLayout.scan).
    shared = layout.clone(file_scans={} if scans is None else scans)
    if span is not None and span.offset < 0:
        raise MimeError(f"bad -offset {span.offset}: must not be negative")
    with _open_file(part.file) as handle:
        size = os.fstat(handle.fileno()).st_size
        offset, count = (0, size) if span is None else (span.offset, span.count)
        source = _FileSource(_FileLines(handle, size), part.file, offset, count)
        top = _drive(_parse(source, shared, 1))
    # A whole file is written up to its end; a span up to its count.
    top.file_root = span is None
    return top


def _open_file(path: str) -> BinaryIO:
    try:
        return open(os_path(path), "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise file_error(path, exc) from None
