"""MIME parts as Python objects: what `mime::initialize` creates
(`tclbridge.mime.initialize`), at the bottom of the mime package: the parser
and the generator build on it, it knows neither.

A `Part` keeps its headers in order with the names as given, its content
type and parameters, its transfer encoding, and its value: a string, a file
(read lazily, in chunks, when the message is written) or sub-parts. How the
part turns into bytes is the generator's job, with the layout's rules.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from tclbridge.engine_errors import MimeError, MimeFileError
from tclbridge.mime.layout import TCLLIB, TcllibLayout, Value, tcl_array_order
from tclbridge.mime.transfer_encodings import decode_body

# Headers mime::setheader guards (they are computed from the part itself).
COMPUTED_HEADERS = ("content-md5", "content-type", "content-transfer-encoding", "mime-version")
_BARE_LINE_BREAK = re.compile(r"\r\n(?![ \t])|\r(?![\n \t])|\n(?![ \t])")


class BodyError(MimeError):
    """An error while reading a body inside `mime::getbody`'s loop: tcllib
    hands it to the callback as `error MESSAGE`."""


def validate_header_value(key: str, value: str) -> None:
    """Refuse header injection: a line break must start a continuation line.

    tcllib writes such values as they are, so a value could add headers or
    end the header block; we refuse (see docs/COMPAT.md).
    """
    if "\r" in key or "\n" in key:
        raise MimeError(
            f"header name {key.strip()} contains a line break (header injection refused)"
        )
    if _BARE_LINE_BREAK.search(value):
        raise MimeError(
            f"header {key} contains a line break not followed by a space or tab "
            "(header injection refused)"
        )


def os_path(path: str) -> str | bytes:
    """`path` as an OS call takes it. A Tcl file name may hold a lone
    surrogate, which has no file-system encoding; Tcl names the file with
    the surrogate's UTF-8-style bytes (ED A0 80), and so do we."""
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogatepass")
    return path


def file_error(path: str, exc: OSError, verb: str = "couldn't open") -> MimeFileError:
    """tcllib's error for a file that cannot be used (Tcl's words for the
    OS's error)."""
    reason = {
        2: "no such file or directory",
        13: "permission denied",
        21: "illegal operation on a directory",
    }.get(exc.errno or 0, (exc.strerror or str(exc)).lower())
    return MimeFileError(f'{verb} "{path}": {reason}', exc.errno or 0, reason)


class Part:
    """One MIME part (a leaf or a container of parts)."""

    def __init__(self, layout: TcllibLayout = TCLLIB) -> None:
        self.layout = layout
        self.content = ""
        self.params: dict[str, str] = {}  # lower-case keys, insertion order
        self.encoding = ""
        self.version = layout.mime_version
        self.canonical = True
        self.value: Value = "string"
        self.string = ""
        self.file: str | None = None
        self.parts: list[Part] = []
        self.generated_boundary: str | None = None
        # Sub-parts made by parsing, by number (finalized with the part by
        # default); None where tcllib numbered a piece it could not parse.
        self.parsed_children: list[Part | None] = []
        # A part parsed from a file is the byte range [offset, offset+count)
        # of `file`; the top part (file_root) is written up to the file's end.
        self.offset = 0
        self.count = 0
        self.file_root = False
        # Set by mime::finalize; tcllib can no longer write such a part.
        self.finalized = False
        self._names: list[tuple[str, str]] = []  # (lower, as given)
        self._values: dict[str, list[str]] = {}

    # -- headers --------------------------------------------------------------

    def header_names(self) -> list[str]:
        """`mime::getheader $tok -names`: the part's own header names."""
        return [mixed for _, mixed in self._names]

    def raw_fields(self) -> list[tuple[str, str]]:
        """The part's own headers as (name, value), one per value, in order."""
        return [(mixed, v) for lower, mixed in self._names for v in self._values[lower]]

    def has_header(self, key: str) -> bool:
        return key.lower() in self._values

    def get_header(self, key: str) -> list[str]:
        """`mime::getheader $tok key`: the values of one header."""
        lower = key.lower()
        if lower == "content-transfer-encoding":
            encoding = self.layout.transfer_encoding(self)
            return [encoding] if encoding else []
        if lower == "content-type":
            return [self.layout.content_type(self)]
        if lower == "mime-version":
            return [self.version]
        if lower not in self._values:
            raise MimeError(f"key {key} not in header")
        return list(self._values[lower])

    def live_values(self, lower: str) -> list[str] | None:
        """The list holding a header's values (not a copy: callers only read
        it). Values are only ever appended to it, or the list is replaced."""
        return self._values.get(lower)

    def headers(self) -> list[tuple[str, str]]:
        """`mime::getheader $tok`: every header as written, in order."""
        return self.layout.header_fields(self)

    def set_header(
        self, key: str, value: str, mode: str = "write", *, internal: bool = False
    ) -> list[str]:
        """`mime::setheader`: returns the previous values of the header.

        `internal` lets the caller set the computed headers (as tcllib's
        own packages do with `mime::internal`).
        """
        lower = key.lower()
        known = lower in self._values
        if mode not in ("write", "append", "delete"):
            raise MimeError(f"unknown value for -mode {mode}")
        if mode == "delete":
            if not known:
                raise MimeError(f"key {key} not in header")
            previous = self._values.pop(lower)
            self._names = [(lw, mx) for lw, mx in self._names if lw != lower]
            return previous
        if not internal and lower in COMPUTED_HEADERS and value not in self.get_header(lower):
            raise MimeError(f"key {key} may not be set")
        validate_header_value(key, value)
        previous = list(self._values.get(lower, []))
        if not known:
            self._names.append((lower, key))
        if mode == "append":
            self._values.setdefault(lower, []).append(value)
        else:
            self._values[lower] = [value]
        return previous

    def add_header(self, key: str, value: str) -> None:
        """Add a value the way `-header` does (the name keeps its first spelling)."""
        lower = key.lower()
        if lower not in self._values:
            self._names.append((lower, key))
            self._values[lower] = []
        self._values[lower].append(value)

    # -- copies ---------------------------------------------------------------

    def copy_top(self) -> Part:
        """A copy with its own header list, sharing body and sub-parts."""
        twin = Part(self.layout)
        twin.__dict__.update(self.__dict__)
        twin.params = dict(self.params)
        twin.parts = list(self.parts)
        twin._names = list(self._names)
        twin._values = {k: list(v) for k, v in self._values.items()}
        return twin

    # -- body -----------------------------------------------------------------

    def iter_raw_text(self, chunk_size: int) -> Iterator[str]:
        """The unencoded body as Tcl chars (file bytes as latin-1), in chunks."""
        if self.value == "string":
            yield self.string
        elif self.value == "file":
            assert self.file is not None
            for data in read_file(self.file, chunk_size):
                yield data.decode("latin-1")

    def iter_stored_text(self, chunk_size: int) -> Iterator[str]:
        """The body as stored (what copymessage writes for a parsed part)."""
        if self.canonical or self.value != "file":
            yield from self.iter_raw_text(chunk_size)
            return
        assert self.file is not None
        # tcllib reads a negative count (headers read past the piece's
        # end) as "up to the end of the file".
        limit = -1 if self.file_root or self.count < 0 else self.count
        for data in read_file(self.file, chunk_size, self.offset, limit):
            yield data.decode("latin-1")

    def iter_body(self, chunk_size: int) -> Iterator[str]:
        """The body in canonical form (`mime::getbody`), transfer encoding undone."""
        if self.canonical:
            yield from self.iter_raw_text(chunk_size)
        elif self.value == "file":
            yield from _iter_file_body(self, chunk_size)
        elif self.encoding in ("base64", "quoted-printable"):
            # Decoded before tcllib's read loop starts: errors are plain errors.
            yield decode_body(self.string, self.encoding)
        else:
            yield self.string

    def raw_size(self) -> int:
        if self.value == "file" and not self.canonical:
            return self.count
        if self.value == "file":
            assert self.file is not None
            try:
                return os.path.getsize(os_path(self.file))
            except OSError as exc:
                raise file_error(self.file, exc, "could not read") from None
        return len(self.string)

    def param_list(self) -> list[str]:
        """Content-Type parameters as tcllib lists them: key value ..."""
        return [x for k in tcl_array_order(self.params) for x in (k, self.params[k])]

    def properties(self) -> dict[str, object]:
        """`mime::getproperty $tok` (parts as Part objects), tcllib's order."""
        values: dict[str, object] = {
            "content": self.content,
            "encoding": self.encoding,
            "params": self.param_list(),
            "size": self.layout.size(self),
        }
        if self.value == "parts":
            values["parts"] = list(self.parts)
        return {key: values[key] for key in tcl_array_order(values)}

    def __repr__(self) -> str:
        return f"<Part {self.content} {self.value}>"


def read_file(path: str, chunk_size: int, offset: int = 0, limit: int = -1) -> Iterator[bytes]:
    """Read a file lazily, `chunk_size` bytes at a time, from `offset`,
    at most `limit` bytes (all when negative)."""
    try:
        handle = open(os_path(path), "rb")  # noqa: SIM115 - closed below, generator-safe
    except OSError as exc:
        raise file_error(path, exc) from None
    with handle:
        handle.seek(offset)
        left = limit
        while left != 0:
            data = handle.read(chunk_size if left < 0 else min(chunk_size, left))
            if not data:
                break
            left = left - len(data) if left > 0 else left
            yield data


def _iter_file_body(part: Part, blocksize: int) -> Iterator[str]:
    """`mime::getbody` of a part parsed from a file: its byte range read in
    blocks; base64/quoted-printable blocks are cut after their last LF and
    decoded one by one, as tcllib does."""
    assert part.file is not None
    encoding = part.encoding
    try:
        handle = open(os_path(part.file), "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise file_error(part.file, exc) from None
    with handle:
        pos, last = part.offset, part.offset + part.count - 1
        handle.seek(pos)
        while pos <= last:
            chunk = handle.read(min(last - pos + 1, blocksize)).decode("latin-1")
            if not chunk:
                break
            pos += len(chunk)
            if encoding not in ("", "7bit", "8bit", "binary", "base64", "quoted-printable"):
                raise BodyError(f'Can\'t handle content encoding "{encoding}"')
            if encoding in ("base64", "quoted-printable"):
                cut = chunk.rfind("\n")
                if cut > 0 and cut + 1 != len(chunk):
                    pos -= len(chunk) - cut - 1
                    handle.seek(pos)
                    chunk = chunk[: cut + 1]
                try:
                    chunk = decode_body(chunk, encoding)
                except MimeError as exc:
                    raise BodyError(exc.text, exc.kind) from None
            yield chunk
