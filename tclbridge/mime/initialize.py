"""`mime::initialize`: a part from its options, with tcllib's checks.

`-canonical` makes a new part (`tclbridge.mime.model`); without it the
`-string` or `-file` value is parsed (`tclbridge.mime.parser`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tclbridge.engine_errors import MimeError
from tclbridge.mime.layout import KNOWN_ENCODINGS, TCLLIB, TcllibLayout, Value
from tclbridge.mime.model import Part, validate_header_value
from tclbridge.mime.parser import FileSpan, parse_part
from tclbridge.mime.transfer_encodings import unique_id


def refuse_line_break(what: str, text: str) -> None:
    """Content-Type is written from -canonical and -param as they are, so a
    line break there would add headers; tcllib writes it, we refuse."""
    if "\r" in text or "\n" in text:
        raise MimeError(f"{what} contains a line break (header injection refused)")


@dataclass(frozen=True)
class SpanOptions:
    """`-root`, `-offset` and `-count` as given (None when absent).

    tcllib's mbox package parses one message of a mailbox file with
    `-file BOX -root MBOXTOKEN -offset N -count M`; the root names the Tcl
    variable holding the mailbox's channel, so only the Tcl layer can turn
    these into a `FileSpan`."""

    root: str
    offset: str | None
    count: str | None


# The options that only matter with -root (tcllib ignores them otherwise).
SPAN_OPTIONS = ("-root", "-offset", "-count")


def configure(
    args: Sequence[tuple[str, object]],
    *,
    split_list: Callable[[str], list[str]] = lambda s: s.split(),
    lookup: Callable[[str], Part] | None = None,
    locate: Callable[[SpanOptions], FileSpan] | None = None,
    span_scans: MutableMapping[str, tuple[bool, bool]] | None = None,
    layout: TcllibLayout = TCLLIB,
) -> Part:
    """Build a part from `mime::initialize` options, with tcllib's checks
    made in tcllib's order and its error messages.

    Values may be Tcl list strings (split with `split_list`) or Python
    sequences; `-parts` tokens are resolved with `lookup`. A file parsed
    with `-root` is limited to the span `locate` makes of the span options,
    and its parts share the whole-file scans kept in `span_scans`.
    """
    part = Part(layout)
    content: str | None = None
    given: set[Value] = set()
    user_header = False
    span: dict[str, str] = {}

    # A value that is not a str is a Python sequence (see above).
    def as_list(value: object) -> list[Any]:
        return split_list(value) if isinstance(value, str) else list(cast(Iterable[Any], value))

    def shown(value: object) -> str:
        return value if isinstance(value, str) else " ".join(map(str, cast(Iterable[Any], value)))

    for option, value in args:
        if option == "-canonical":
            content = str(value).lower()
            refuse_line_break("-canonical", content)
        elif option == "-param":
            pair = as_list(value)
            if len(pair) != 2:
                raise MimeError(f"-param expects a key and a value, not {shown(value)}")
            refuse_line_break(f"-param {pair[0]!r}", pair[0] + pair[1])
            lower = pair[0].lower()
            if lower in part.params:
                raise MimeError(f"the {pair[0]} parameter may be specified at most once")
            part.params[lower] = pair[1]
        elif option == "-encoding":
            encoding = str(value).lower()
            if encoding not in KNOWN_ENCODINGS:
                raise MimeError(f"unknown value for -encoding {part.encoding}")
            part.encoding = encoding
        elif option == "-header":
            pair = as_list(value)
            if len(pair) != 2:
                raise MimeError(f"-header expects a key and a value, not {shown(value)}")
            lower = pair[0].lower()
            if lower == "content-type":
                raise MimeError(f"use -canonical instead of -header {shown(value)}")
            if lower == "content-transfer-encoding":
                raise MimeError(f"use -encoding instead of -header {shown(value)}")
            if lower in ("content-md5", "mime-version"):
                raise MimeError("don't go there...")
            validate_header_value(pair[0], pair[1])
            user_header = True
            part.add_header(pair[0], pair[1])
        elif option == "-file":
            part.file = str(value)
            given.add("file")
        elif option == "-string":
            part.string = str(value)
            given.add("string")
        elif option == "-parts":
            items = as_list(value)
            if lookup is not None:
                items = [lookup(x) if isinstance(x, str) else x for x in items]
            part.parts = items
            given.add("parts")
        elif option in SPAN_OPTIONS:
            span[option] = str(value)
        else:
            raise MimeError(f"unknown option {option}")

    named = set(given)
    # tcllib lets -string win over the others instead of complaining.
    if "string" in given:
        given = {"string"}
    if len(given) != 1:
        raise MimeError("specify exactly one of -file, -parts, or -string")
    part.value = given.pop()

    if content is None:
        if part.params:
            raise MimeError("-param requires -canonical")
        if part.encoding:
            raise MimeError("-encoding requires -canonical")
        if user_header:
            raise MimeError("-header requires -canonical")
        if "parts" in named:
            raise MimeError("-parts requires -canonical")
        if {"file", "string"} <= named:
            # tcllib would take the headers from the file and the whole
            # string as the body (COMPAT file-and-string).
            raise MimeError("specify exactly one of -file, -parts, or -string")
        if part.value != "file" or "-root" not in span:
            # Without a root tcllib reads the whole file and drops -offset
            # and -count; a string is parsed whatever they say.
            return parse_part(part, layout)
        if locate is None:
            raise MimeError("-root names a Tcl variable: it needs mime::initialize in Tcl")
        where = locate(SpanOptions(span["-root"], span.get("-offset"), span.get("-count")))
        return parse_part(part, layout, span=where, scans=span_scans)

    if part.value == "file" and "-root" in span:
        # tcllib would write -count bytes of the root's file from its start
        # (COMPAT root-channel): refused rather than guessed at.
        raise MimeError(
            "-root applies to a message parsed from a file, not to -canonical -file"
        )
    part.content = content
    if part.value == "parts":
        if content.startswith(("text/", "image/", "audio/", "video/")):
            raise MimeError(f"-canonical {content} and -parts do not mix")
        if part.encoding:
            raise MimeError("-encoding and -parts do not mix")
    if not part.has_header("content-id"):
        part.add_header("Content-ID", unique_id())
    return part


def new_part(
    *,
    canonical: str,
    headers: Sequence[tuple[str, str]] = (),
    parts: Sequence[Part] = (),
    string: str | None = None,
    encoding: str = "",
    file: str | None = None,
    params: Sequence[tuple[str, str]] = (),
    layout: TcllibLayout = TCLLIB,
) -> Part:
    """`mime::initialize -canonical ...` from Python.

    Exactly one of `parts`, `string` or `file` gives the value (an empty
    `parts` with neither of the others means an empty container).
    """
    args: list[tuple[str, object]] = [("-canonical", canonical)]
    args += [("-param", tuple(p)) for p in params]
    if encoding:
        args.append(("-encoding", encoding))
    args += [("-header", tuple(h)) for h in headers]
    if string is not None:
        args.append(("-string", string))
    if file is not None:
        args.append(("-file", file))
    if parts or (string is None and file is None):
        args.append(("-parts", list(parts)))
    return configure(args, layout=layout)
