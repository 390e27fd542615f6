"""The mime command layer: Tcl arguments in, tcllib's results and errors out.

Names parts by the interpreter's token table (tclbridge.tcl.tokens) and
does nothing else of note: the work is done by `tclbridge.mime`.
"""

from __future__ import annotations

import tkinter
from collections.abc import Iterator, Sequence
from typing import Any

from tclbridge.chunks import coalesce
from tclbridge.errors import ScriptError
from tclbridge.mime import charsets, transfer_encodings
from tclbridge.mime.address import PROPERTIES as ADDRESS_PROPERTIES
from tclbridge.mime.address import parse_address
from tclbridge.mime.dates import parse_datetime
from tclbridge.mime.generator import check_writable, encode_for_channel, iter_text
from tclbridge.mime.initialize import SpanOptions, configure
from tclbridge.mime.model import BodyError, Part
from tclbridge.mime.parser import FileSpan, UnchangedFileScans
from tclbridge.tcl import checked, errorcodes
from tclbridge.tcl.boundary import TCL_BREAK, TCL_ERROR, Converted
from tclbridge.tcl.command_sets import MIME_COMMANDS, MIME_PREFIX
from tclbridge.tcl.header_lists import HeaderLists
from tclbridge.tcl.host import CommandHost
from tclbridge.tcl.text import from_tk, has_surrogate, to_tk

# copymessage writes blocks of this many characters per `puts`.
COPY_BLOCK = 65536

PREFIX = MIME_PREFIX
# mime's public commands (named in tclbridge.tcl.command_sets, which an
# interpreter reads without importing this module).
COMMANDS = MIME_COMMANDS


def _usage(name: str, usage: str) -> ScriptError:
    return ScriptError(f'wrong # args: should be "mime::{name}{usage}"', errorcodes.WRONG_ARGS)


def _options(args: Sequence[str]) -> dict[str, str]:
    """Tcl's `array set options $args`."""
    if len(args) % 2:
        raise ScriptError("list must have an even number of elements", errorcodes.ODD_LIST)
    return dict(zip(args[::2], args[1::2], strict=False))


class MimeCommands:
    """The `::tclbridge::py::mime::*` commands of one interpreter."""

    def __init__(self, host: CommandHost) -> None:
        self.tk = host.app
        self.host = host
        self.tokens = host.tokens
        self.split_list = host.split_list
        self._header_lists = HeaderLists(self.tk)
        self._mailbox_scans = UnchangedFileScans()
        for name in COMMANDS:
            host.register(PREFIX + name, getattr(self, "cmd_" + name))

    # -- tokens -------------------------------------------------------------

    def part(self, token: str, reading: str = "header") -> Part:
        """The part behind `token`, or tcllib's error for a bad token."""
        return self.tokens.part(token, reading)

    def token(self, part: Part) -> str:
        return self.tokens.token(part)

    def _new_token(self) -> str:
        return self.tokens.new_token()

    def _add(self, part: Part, token: str | None = None) -> str:
        return self.tokens.add(part, token)

    def _boolean(self, text: str) -> bool:
        try:
            if has_surrogate(text):  # tkinter's getboolean takes no surrogate; no boolean has one
                raise tkinter.TclError(f'expected boolean value but got "{text}"')
            return bool(self.tk.getboolean(text))
        except tkinter.TclError as exc:
            raise ScriptError(from_tk(str(exc)), errorcodes.NOT_A_BOOLEAN) from None

    def _tcl(self, *args: Any) -> Any:
        """A Tcl command, with arguments and result in Tcl's characters."""
        try:
            return from_tk(self.host.call(*map(to_tk, args)))
        except checked.TclError as exc:
            raise ScriptError.passing_on(exc) from None

    # -- parts ----------------------------------------------------------------

    def cmd_initialize(self, *args: str) -> str:
        token = self._new_token()
        pairs: list[tuple[str, object]] = []
        for i in range(0, len(args), 2):
            if i + 1 >= len(args):
                raise ScriptError(f"missing argument to {args[i]}")
            pairs.append((args[i], args[i + 1]))
        part = configure(
            pairs,
            split_list=self.split_list,
            lookup=lambda t: self.part(t, "header"),
            locate=self._locate_span,
            span_scans=self._mailbox_scans,
        )
        self._add(part, token)
        self._add_parsed(part, token)
        return token

    def _locate_span(self, options: SpanOptions) -> FileSpan:
        """Where `-file F -root R -offset N -count M` starts and how long it
        is, with tcllib's checks in tcllib's order: R names a variable (as
        seen from the ::mime namespace) whose `fd` element is an open
        channel, which is sought to N; then N + M - 1 must be a number and
        M an integer. The bytes are then read from F, not from the channel
        (COMPAT root-channel)."""
        qualified = options.root if options.root.startswith("::") else "::mime::" + options.root
        if qualified in self.tokens:
            # tcllib's tokens are arrays with no fd outside its parser.
            raise ScriptError(
                'can\'t read "root(fd)": no such element in array', errorcodes.READ_VARNAME
            )
        channel = self._tcl("apply", _ROOT_CHANNEL, options.root)
        if options.offset is None:
            raise _missing_state("offset")
        self._tcl("seek", channel, options.offset, "start")
        offset = int(self._tcl("tell", channel))
        if options.count is None:
            raise _missing_state("count")
        self._tcl("::tcl::mathop::+", options.offset, options.count)
        count = self._tcl("::tcl::mathop::+", options.count, 0)
        if not isinstance(count, int):
            # tcllib's `incr` on the count, once the headers are read.
            raise ScriptError(
                f'expected integer but got "{options.count}"', errorcodes.NOT_AN_INTEGER
            )
        return FileSpan(offset, count)

    def _add_parsed(self, part: Part, token: str) -> None:
        """Give parsed sub-parts tcllib's names: the parent's token, "-", and
        the child's number (`::mime::3-1-2`). Walked without recursion."""
        pending = [(part, token)]
        while pending:
            parent, name = pending.pop()
            for number, child in enumerate(parent.parsed_children, 1):
                if child is not None:
                    self._add(child, f"{name}-{number}")
                    pending.append((child, f"{name}-{number}"))

    def cmd_finalize(self, *args: str) -> str:
        if not args:
            raise _usage("finalize", " token ?arg ...?")
        token, rest = args[0], args[1:]
        part = self.part(token, "cid")
        options = {"-subordinates": "dynamic", **_options(rest)}
        which = options["-subordinates"]
        if which not in ("all", "dynamic", "none"):
            raise ScriptError(f"unknown value for -subordinates {which}")
        if which == "all" and part.value == "parts":
            for child in part.parts:
                if not child.finalized:  # tcllib stops there (COMPAT finalize-gone-part)
                    self.cmd_finalize(self.token(child), *rest)
        elif which == "dynamic":
            # By name, as tcllib: a sub-part finalized before is an error.
            for number in range(len(part.parsed_children), 0, -1):
                if part.parsed_children[number - 1] is not None:
                    self.cmd_finalize(f"{token}-{number}", *rest)
        self.tokens.remove(token)
        part.finalized = True
        return ""

    def cmd_getproperty(self, *args: str) -> object:
        if not 1 <= len(args) <= 2:
            raise _usage("getproperty", " token ?property?")
        prop = args[1] if len(args) > 1 else ""
        # tcllib's first read of the token's state names the missing variable.
        part = self.part(args[0], "value" if prop == "size" else "content")
        if prop == "":
            props = part.properties()
            if "parts" in props:
                props["parts"] = [self.token(p) for p in part.parts]
            return props
        if prop == "-names":
            return ["content", "encoding", "params"] + (["parts"] if part.value == "parts" else [])
        if prop in ("content", "encoding"):
            return getattr(part, prop)
        if prop == "params":
            return part.param_list()
        if prop == "size":
            return part.layout.size(part)
        if prop == "parts":
            if part.value != "parts":
                raise ScriptError("MIME part is a leaf")
            return [self.token(p) for p in part.parts]
        raise ScriptError(f"unknown property {prop}")

    def cmd_getsize(self, *args: str) -> int:
        if len(args) != 1:
            raise _usage("getsize", " token")
        part = self.part(args[0], "value")
        return part.layout.size(part)

    def cmd_getheader(self, *args: str) -> object:
        if not 1 <= len(args) <= 2:
            raise _usage("getheader", " token ?key?")
        part = self.part(args[0])
        key = args[1] if len(args) > 1 else ""
        if key == "":
            return [x for field in part.headers() for x in field]
        if key == "-names":
            return part.header_names()
        if key.lower() == "content-transfer-encoding":
            # tcllib returns the bare value here, not a one-element list
            return part.layout.transfer_encoding(part)
        return part.get_header(key)

    def cmd_setheader(self, *args: str) -> object:
        if len(args) < 3:
            raise _usage("setheader", " token key value ?arg ...?")
        part = self.part(args[0])
        options = {"-mode": "write", **_options(args[3:])}
        previous = self._header_lists.tcl_list(part, args[1])
        part.set_header(args[1], args[2], options["-mode"])
        return Converted(previous)

    def cmd_encoding(self, *args: str) -> str:
        if len(args) != 1:
            raise _usage("encoding", " token")
        part = self.part(args[0], "content")
        return part.layout.choose_encoding(part)

    # -- writing --------------------------------------------------------------

    def _system_encoding(self) -> str:
        return charsets.python_codec(str(self.tk.call("encoding", "system")))

    def cmd_buildmessage(self, *args: str) -> str:
        if len(args) != 1:
            raise _usage("buildmessage", " token")
        part = self.part(args[0])
        check_writable(part)
        encoding = self._system_encoding()
        data = b"".join(encode_for_channel(text, encoding) for text in iter_text(part))
        return data.decode("latin-1")

    def cmd_copymessage(self, *args: str) -> str:
        if len(args) != 2:
            raise _usage("copymessage", " token channel")
        token, channel = args
        part = self.part(token)
        check_writable(part)
        for text in coalesce(iter_text(part), COPY_BLOCK):
            self._tcl("puts", "-nonewline", channel, text)
        self._shrink_buffer(channel, part)
        self._tcl("flush", channel)
        return ""

    def _shrink_buffer(self, channel: str, part: Part) -> None:
        """tcllib sets the channel's -buffersize to 3/4 of itself (at least
        384) each time it writes a string body; scripts can see that."""
        leaves = _string_leaves(part)
        if not leaves:
            return
        size = int(self._tcl("fconfigure", channel, "-buffersize"))
        for _ in range(leaves):
            size = (max(size, 512) // 4) * 3
        self._tcl("fconfigure", channel, "-buffersize", size)

    def cmd_getbody(self, *args: str) -> str:
        if not args:
            raise _usage("getbody", " token ?arg ...?")
        part = self.part(args[0], "value")
        rest = list(args[1:])
        decode = "-decode" in rest
        if decode:
            rest.remove("-decode")
        options = {"-command": "", "-blocksize": "4096", **_options(rest)}
        blocksize = self._blocksize(options["-blocksize"])
        if part.value == "parts":
            raise ScriptError("MIME part isn't a leaf")
        callback = options["-command"]
        pieces: list[str] = []
        failure = self._feed_body(part, blocksize, callback, pieces)
        if failure is None:
            result = self._callback(callback, "end") if callback else "".join(pieces)
        elif callback:
            result = self._callback(callback, "error", failure)
        else:
            # tcllib's own collector fails with the word it was called with.
            raise ScriptError("error")
        if decode:
            charset = part.params.get("charset", "US-ASCII")
            enc = charsets.tcl_encoding(charset)
            if not enc:
                raise ScriptError(f"-decode failed: can't reversemap charset {charset}")
            result = str(self._tcl("encoding", "convertfrom", enc, result))
        return result

    def _feed_body(
        self, part: Part, blocksize: int, callback: str, pieces: list[str]
    ) -> str | None:
        """Hand the body to `callback` (or collect it) in blocks; returns the
        message of an error tcllib reports through the callback, else None.
        Errors before the read loop (opening, decoding a string) propagate."""
        try:
            for fragment in _blocks(part.iter_body(blocksize), blocksize):
                if not callback:
                    pieces.append(fragment)
                    continue
                code, result = self._callback_code(callback, "data", fragment)
                if code == TCL_ERROR:
                    return result
                if code == TCL_BREAK:
                    break  # the script has seen enough (COMPAT getbody-callback-codes)
        except BodyError as exc:
            return exc.text
        return None

    def _blocksize(self, value: str) -> int:
        # tcllib compares a non-number as a string and fails later, inside
        # the read loop (COMPAT getbody-blocksize): refuse it here.
        if not self.tk.getboolean(self._tcl("string", "is", "integer", "-strict", value)):
            raise ScriptError(f"-blocksize expects a positive integer, not {value}")
        size = int(self._tcl("expr", f"{{{value}}}"))
        if size < 1:
            raise ScriptError(f"-blocksize expects a positive integer, not {value}")
        return size

    def _callback_code(self, command: str, *words: str) -> tuple[int, str]:
        """Run a -command callback as tcllib's loop does; (return code, result).
        tkinter's call passes break/continue/return as success, so `catch`."""
        self.tk.setvar("::tclbridge::callback_command", to_tk(command))
        self._tcl("set", "::tclbridge::callback_words", words)
        code = int(self._tcl(
            "catch",
            "uplevel #0 $::tclbridge::callback_command $::tclbridge::callback_words",
            "::tclbridge::callback_result",
        ))
        return code, str(self._tcl("set", "::tclbridge::callback_result"))

    def _callback(self, command: str, *words: str) -> str:
        result = self._tcl("uplevel", "#0", command, self._tcl("list", *words))
        # tkinter hands back lists as tuples; we want the Tcl string.
        return result if isinstance(result, str) else str(self._tcl("format", "%s", result))

    # -- helpers without tokens ------------------------------------------------

    def cmd_parseaddress(self, *args: str) -> list[list[str]]:
        if len(args) != 1:
            raise _usage("parseaddress", " string")
        self.tokens.skip_numbers(1)  # tcllib makes a token for every parse
        hostname = str(self.tk.call("info", "hostname"))
        found = parse_address(args[0], hostname)
        return [[x for key in ADDRESS_PROPERTIES for x in (key, item[key])] for item in found]

    def cmd_parsedatetime(self, *args: str) -> str:
        if len(args) != 2:
            raise _usage("parsedatetime", " value property")

        def clock_scan(text: str, gmt: bool) -> int:
            return int(self._tcl("clock", "scan", text, "-gmt", "1" if gmt else "0"))

        return parse_datetime(args[0], args[1], clock_scan=clock_scan)

    def cmd_uniqueID(self, *args: str) -> str:  # noqa: N802 - the Tcl name
        if args:
            raise _usage("uniqueID", "")
        return transfer_encodings.unique_id()

    def cmd_qp_encode(self, *args: str) -> str:
        if not 1 <= len(args) <= 3:
            raise _usage("qp_encode", " string ?encoded_word? ?no_softbreak?")
        flags = [self._boolean(a) for a in args[1:]] + [False, False]
        return transfer_encodings.qp_encode(args[0], flags[0], flags[1])

    def cmd_qp_decode(self, *args: str) -> str:
        if not 1 <= len(args) <= 2:
            raise _usage("qp_decode", " string ?encoded_word?")
        return transfer_encodings.qp_decode(args[0], len(args) > 1 and self._boolean(args[1]))

    def cmd_word_encode(self, *args: str) -> str:
        if len(args) < 3:
            raise _usage("word_encode", " charset method string ?arg ...?")
        charset, method, text = args[:3]
        if charsets.mime_charset(charset) is None:
            raise ScriptError(f"unknown charset '{charset}'")
        if not charsets.mime_charset(charset):
            raise ScriptError(f"invalid charset '{charset}'")
        if method not in ("base64", "quoted-printable"):
            raise ScriptError(f"unknown method '{method}', must be base64 or quoted-printable")
        options = {"-charset_encoded": "1", "-maxlength": "66", **_options(args[3:])}
        written = options["-maxlength"]

        def maxlength() -> int | float:
            # As tcllib's `expr {$maxlength - ...}`: a number by Tcl's rules,
            # never evaluated as a script.
            return self._tcl("::tcl::mathop::-", written, 0)

        return transfer_encodings.word_encode(
            charset,
            method,
            text,
            charset_encoded=self._boolean(options["-charset_encoded"]),
            maxlength=maxlength,
            maxlength_text=written,
        )

    def cmd_word_decode(self, *args: str) -> list[str]:
        if len(args) != 1:
            raise _usage("word_decode", " encoded")
        return list(transfer_encodings.word_decode(args[0]))

    def cmd_field_decode(self, *args: str) -> str:
        if len(args) != 1:
            raise _usage("field_decode", " field")
        return transfer_encodings.field_decode(args[0])

    def cmd_mapencoding(self, *args: str) -> str:
        if len(args) != 1:
            raise _usage("mapencoding", " enc")
        return charsets.mime_charset(args[0]) or ""

    def cmd_reversemapencoding(self, *args: str) -> str:
        if len(args) != 1:
            raise _usage("reversemapencoding", " mimeType")
        return charsets.tcl_encoding(args[0])


# `-root R`: tcllib's `variable $R; upvar 0 $R root; set root(fd)` inside
# the ::mime namespace, so a relative R and every error are tcllib's.
_ROOT_CHANNEL = (
    "{__tclbridge_root} {variable $__tclbridge_root; upvar 0 $__tclbridge_root root;"
    " return $root(fd)} ::mime"
)


def _missing_state(name: str) -> ScriptError:
    return ScriptError(
        f'can\'t read "state({name})": no such element in array', errorcodes.READ_VARNAME
    )


def _blocks(pieces: Iterator[str], size: int) -> Iterator[str]:
    """Re-cut a stream of text into blocks of exactly `size` (last shorter).

    Each join yields at least one block, so the copying stays linear.
    """
    pending: list[str] = []
    have = 0
    for piece in pieces:
        pending.append(piece)
        have += len(piece)
        if have <= size:
            continue
        text, cut = "".join(pending), 0
        while len(text) - cut > size:
            yield text[cut : cut + size]
            cut += size
        pending, have = [text[cut:]], len(text) - cut
    if have:
        yield "".join(pending)


def _string_leaves(part: Part) -> int:
    """How many string bodies tcllib writes for `part` (it stops at the
    first sub-part of a message/*)."""
    if part.value == "string":
        return 1
    if part.value != "parts":
        return 0
    children = part.parts[:1] if part.content.startswith("message/") else part.parts
    return sum(_string_leaves(child) for child in children)


def install(host: CommandHost) -> MimeCommands:
    return MimeCommands(host)


__all__: Sequence[str] = ["MimeCommands", "install"]
