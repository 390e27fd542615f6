"""`tclbridge scan DIR`: an inventory of what Tcl scripts use of smtp and mime.

Finds Tcl files (*.tcl, *.tk, *.exp, and files whose first lines start
tclsh or wish), lists per file the smtp/mime commands and options it uses,
flags the uses that behave differently under the bridge (entries of
docs/COMPAT.md) or that the bridge does not provide, and ends with a summary
table; `--json` prints the same for tools. Scripts are parsed, never run.

Scripts are read by tclbridge.tclsource (Tcl's word rules); every braced
word is read as a script too, so calls inside proc bodies, catch, if,
foreach and `eval [linsert $opts 0 smtp::sendmessage ...]` are found.
Options that come from a variable are followed through `set VAR [list ...]`
(or a braced list) when the file assigns VAR only that once; otherwise the
call is reported as "options not literal".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from tclbridge.tcl.mime_commands import COMMANDS as BRIDGE_MIME_COMMANDS
from tclbridge.tclsource import MAX_DEPTH, Command, Word, parse_script, split_list

TCL_SUFFIXES = (".tcl", ".tk", ".exp")
_SHEBANG = re.compile(r"^#!.*\b(?:tclsh|wish|expect)[\d.]*\b|^exec\s+(?:\S*/)?(?:tclsh|wish)")
MAX_FILE_SIZE = 4 * 1024 * 1024  # larger "scripts" are data

# tcllib 1.21's procs, public and internal (a script may call either).
TCLLIB_SMTP = frozenset({
    "sendmessage", "sendmessageaux", "initialize", "load_tls", "initialize_ehlo",
    "SASLCallback", "Authenticate", "finalize", "winit", "waddr", "wtext", "wtextaux",
    "wdata", "talk", "hear", "readable", "timer", "boolean",
})
TCLLIB_MIME = frozenset({
    "initialize", "initializeaux", "parsepart", "parsetype", "parsetypeaux", "finalize",
    "getproperty", "getsize", "getContentType", "getheader", "getTransferEncoding",
    "setheader", "getbody", "getbodyaux", "copymessage", "copymessageaux", "buildmessage",
    "buildmessageaux", "encoding", "encodingasciiP", "encodinglineP", "fcopy", "scopy",
    "qp_encode", "qp_decode", "parseaddress", "parseaddressaux", "addr_next",
    "addr_specification", "addr_routeaddr", "addr_route", "addr_domain", "addr_local",
    "addr_phrase", "addr_group", "addr_end", "addr_x400", "parsedatetime", "uniqueID",
    "parselexeme", "mapencoding", "reversemapencoding", "word_encode", "word_decode",
    "field_decode",
})
BRIDGE_COMMANDS = frozenset(
    {"smtp::sendmessage"} | {f"mime::{name}" for name in BRIDGE_MIME_COMMANDS}
)
KNOWN_COMMANDS = frozenset(
    {f"smtp::{n}" for n in TCLLIB_SMTP} | {f"mime::{n}" for n in TCLLIB_MIME} | BRIDGE_COMMANDS
)

# Where options start in each command's words, and options that take no value.
_OPTIONS_FROM = {
    "smtp::sendmessage": 2, "mime::initialize": 1, "mime::finalize": 2,
    "mime::setheader": 4, "mime::getbody": 2, "mime::word_encode": 4,
}
_FLAGS = {"mime::getbody": frozenset({"-decode"})}
SENDMESSAGE_OPTIONS = frozenset({
    "-atleastone", "-debug", "-queue", "-usetls", "-tlspolicy", "-tlsimport", "-maxsecs",
    "-header", "-originator", "-recipients", "-servers", "-ports", "-client", "-username",
    "-password",
})
INITIALIZE_OPTIONS = frozenset({
    "-canonical", "-param", "-encoding", "-header", "-file", "-string", "-parts",
    # tcllib's mbox package parses one message of a mailbox with these.
    "-root", "-offset", "-count",
})
INTERNAL_INITIALIZE_OPTIONS = frozenset({"-lineslist"})
_ALL_OPTIONS = SENDMESSAGE_OPTIONS | INITIALIZE_OPTIONS | INTERNAL_INITIALIZE_OPTIONS | {
    "-mode", "-decode", "-command", "-blocksize", "-subordinates", "-charset_encoded",
    "-maxlength",
}
_FALSE = ("0", "false", "no", "off")
# Commands whose arguments name commands without using them
# (`info commands smtp::sendmessage`, `namespace import ::smtp::*`).
_NAMES_ONLY = frozenset({"info", "namespace", "package"})

# Features -> the docs/COMPAT.md entries whose difference they can show.
_AUTH = ("auth-plaintext", "auth-mechanisms", "auth-charset", "auth-hidden")
_ADDRESS = ("command-injection", "utf8-commands", "lone-surrogate")
COMPAT_BY_FEATURE: dict[str, tuple[str, ...]] = {
    "smtp::sendmessage": (
        "token-restored", "bare-cr", "connect-error-text", "write-error-text", "size-bytes",
        "bcc-failure", "reply-wait-whole", "maxsecs-body",
    ),
    "smtp::sendmessage (STARTTLS, the default)": ("tls-verify", "starttls-injection"),
    "smtp::sendmessage -usetls": ("tls-verify", "starttls-injection"),
    "smtp::sendmessage -tlspolicy": ("tls-verify",),
    "smtp::sendmessage -tlsimport": ("tls-verify", "starttls-injection", "tlsimport-no-starttls"),
    "smtp::sendmessage -username": _AUTH,
    "smtp::sendmessage -password": _AUTH,
    "smtp::sendmessage -maxsecs": ("maxsecs-number",),
    "smtp::sendmessage -header": ("header-injection",),
    "smtp::sendmessage -originator": _ADDRESS,
    "smtp::sendmessage -recipients": _ADDRESS,
    "smtp::sendmessage -client": ("command-injection", "lone-surrogate"),
    "mime::initialize -header": ("header-injection",),
    "mime::initialize -encoding": ("cte-once", "qp-dot-line"),
    "mime::initialize -parts": ("boundary-once", "parts-checked"),
    "mime::initialize -file": ("body-error-no-dot",),
    "mime::initialize (parse)": (
        "parse-cr-headers", "parse-depth", "parse-failed-piece", "parsed-header-injection",
    ),
    "mime::initialize (parse) -file": ("parse-encoding-scan", "parse-shrinking-file",
                                       "file-and-string"),
    "mime::initialize -root": ("root-channel", "count-past-eof"),
    "mime::initialize -offset": ("root-channel", "count-past-eof"),
    "mime::initialize -count": ("root-channel", "count-past-eof"),
    "mime::initialize -lineslist": ("internal-options",),
    "mime::setheader": ("header-injection", "setheader-atomic"),
    "mime::qp_encode": ("qp-dot-line",),
    "mime::getbody": ("qp-crlf",),
    "mime::getbody -command": ("getbody-callback-codes",),
    "mime::getbody -blocksize": ("getbody-blocksize",),
    "mime::finalize -subordinates": ("finalize-gone-part",),
    "mime::parseaddress": ("parseaddress-depth",),
    "package require (version)": ("package-version",),
    "interp create": ("child-interp",),
    "info nameofexecutable": ("nameofexecutable",),
}


# -- what a file uses -----------------------------------------------------------


@dataclass
class Call:
    command: str
    line: int
    options: list[str]
    literal: bool  # every option position could be read
    values: dict[str, str] = field(default_factory=dict)  # literal option values
    direct: bool = True  # False: a reference to the command, not a call we can read


class CommandUse(TypedDict):
    """How a file uses one smtp/mime command."""

    calls: int
    lines: list[int]
    options: list[str]  # the options seen, sorted


@dataclass
class FileReport:
    path: str
    packages: dict[str, str | None] = field(default_factory=dict)  # name -> version asked
    calls: list[Call] = field(default_factory=list)
    unsupported: list[dict[str, object]] = field(default_factory=list)
    child_interps: bool = False  # `interp create` somewhere in the file
    executable_name: bool = False  # `info nameofexecutable` somewhere in the file
    bypass: list[dict[str, object]] = field(default_factory=list)  # mail around the bridge

    @property
    def uses_smtp_or_mime(self) -> bool:
        return bool(self.calls or self.packages or self.bypass)

    def commands(self) -> dict[str, CommandUse]:
        result: dict[str, CommandUse] = {}
        for call in sorted(self.calls, key=lambda c: (c.command, c.line)):
            entry = result.setdefault(call.command, {"calls": 0, "lines": [], "options": []})
            entry["calls"] += 1
            entry["lines"].append(call.line)
            for option in call.options:
                if option not in entry["options"]:
                    entry["options"].append(option)
        for entry in result.values():
            entry["options"] = sorted(entry["options"])
        return result

    def features(self) -> list[str]:
        """The features of COMPAT_BY_FEATURE this file shows."""
        found: set[str] = set()
        if any(version is not None for version in self.packages.values()):
            found.add("package require (version)")
        if self.child_interps:
            found.add("interp create")
        if self.executable_name:
            found.add("info nameofexecutable")
        for call in self.calls:
            found.add(call.command)
            found.update(f"{call.command} {option}" for option in call.options)
            if call.command == "smtp::sendmessage" and call.values.get("-usetls") not in _FALSE:
                found.add("smtp::sendmessage (STARTTLS, the default)")
            if call.command == "mime::initialize" and call.literal and call.direct and (
                "-canonical" not in call.options
                and ("-string" in call.options or "-file" in call.options)
            ):
                found.add("mime::initialize (parse)")
                if "-file" in call.options:
                    found.add("mime::initialize (parse) -file")
        return sorted(found)

    def compat(self) -> dict[str, list[str]]:
        """COMPAT.md entry -> the features of this file that lead to it."""
        entries: dict[str, list[str]] = {}
        for feature in self.features():
            for entry in COMPAT_BY_FEATURE.get(feature, ()):
                entries.setdefault(entry, []).append(feature)
        return dict(sorted(entries.items()))

    def not_literal(self) -> list[dict[str, object]]:
        return [{"command": c.command, "line": c.line} for c in self.calls if not c.literal]

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "packages": self.packages,
            "commands": self.commands(),
            "compat": self.compat(),
            "unsupported": self.unsupported,
            "not_literal": self.not_literal(),
            "bypass": self.bypass,
        }


class _Analysis:
    def __init__(self, report: FileReport, commands: list[Command]) -> None:
        self.report = report
        self.imports: set[str] = set()  # imported names ("sendmessage", or "mime::*")
        self.lists = _single_list_assignments(commands)

    def walk(self, commands: list[Command], depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            return
        for command in commands:
            self.command(command, depth)

    def command(self, command: Command, depth: int) -> None:
        words = command.words
        head = words[0].literal
        if head == "package" and len(words) >= 3 and words[1].literal == "require":
            self.package(command)
        elif head in ("interp", "::interp") and len(words) >= 2 and _is_create(words[1]):
            self.report.child_interps = True
        elif head in ("info", "::info") and len(words) >= 2 and (
                words[1].literal == "nameofexecutable"):
            self.report.executable_name = True
        elif head in _BYPASS_COMMANDS:
            self.bypass_check(head.lstrip(":"), words[1:], command.line)
        elif head == "namespace" and len(words) >= 3 and words[1].literal == "import":
            for word in words[2:]:
                if word.literal and word.literal != "-force":
                    self.imports.add(word.literal.lstrip(":"))
        elif head == "eval" and len(words) >= 2:
            rebuilt = self.eval_words(words[1:])
            if rebuilt is not None:
                self.command(Command(command.line, rebuilt), depth)
                return
        name = self.resolve(words[0])
        if name is not None:
            self.call(name, words, command.line)
        for index, word in enumerate(words):
            if index > 0 and word.braced is None and head not in _NAMES_ONLY:
                self.reference(word)
            for script in word.scripts:
                self.walk(script, depth + 1)
            if word.braced:  # maybe a body (proc, catch, if, foreach, after ...)
                self.walk(parse_script(word.braced, word.body_line), depth + 1)

    def bypass_check(self, verb: str, args: list[Word], line: int) -> None:
        """Mail that goes around the bridge: a raw socket, a mail program or
        tclsh run as a child, tcllib's own smtp.tcl sourced."""
        feature: str | None = None
        if verb == "socket" and args and not any(w.literal == "-server" for w in args):
            feature = "socket"
        elif verb == "source" and args and _names_smtp_tcl(args[-1]):
            feature = "source smtp.tcl"
        elif verb == "exec":
            words = [w for w in args if not (w.literal or "").startswith("-")]
            program = _program(words[0].fixed) if words else ""
            feature = f"exec {program}" if program else None
        elif verb == "open" and args:
            program = _program(_pipe_command(args[0]))
            feature = f"open |{program}" if program else None
        if feature is not None:
            kind = feature.split()[-1].lstrip("|")
            reason = _BYPASS_REASONS.get(kind, _BYPASS_REASONS["mail program"])
            self.report.bypass.append({"line": line, "feature": feature, "reason": reason})

    def resolve(self, word: Word) -> str | None:
        """The smtp/mime command a literal word names, or None."""
        text = word.literal
        if not text:
            return None
        text = text.lstrip(":")
        if text.startswith(("smtp::", "mime::")):
            return text
        for ns in ("smtp", "mime"):
            if f"{ns}::{text}" in KNOWN_COMMANDS and (
                f"{ns}::*" in self.imports or f"{ns}::{text}" in self.imports
            ):
                return f"{ns}::{text}"
        return None

    def reference(self, word: Word) -> None:
        """A command name as an argument (`set cmd smtp::sendmessage`,
        `linsert $opts 0 smtp::sendmessage ...`): used, options unknown."""
        text = (word.literal or "").lstrip(":")
        if text in KNOWN_COMMANDS:
            takes_options = text in _OPTIONS_FROM
            self.report.calls.append(Call(text, word.line, [], not takes_options, direct=False))

    def eval_words(self, args: list[Word]) -> list[Word] | None:
        """The command `eval` runs, for the forms scripts use to pass options:
        `eval CMD ARG... $opts` and `eval [linsert $opts 0 CMD ARG...]`."""
        if len(args) == 1 and args[0].literal is None and len(args[0].scripts) == 1:
            script = args[0].scripts[0]
            if len(script) == 1 and script[0].words[0].literal in ("linsert", "list", "concat"):
                return self.list_builder(script[0].words)
            return None
        if self.resolve(args[0]) is None:
            return None
        # eval joins its arguments as lists: each one may hold several words.
        words = [args[0]]
        for word in args[1:]:
            if word.literal is not None:
                words += split_list(word.literal, word.line)
            else:
                words.append(_spliced(word))
        return words

    def list_builder(self, inner: list[Word]) -> list[Word] | None:
        head = inner[0].literal
        if head == "list":
            return inner[1:] or None
        if head == "concat":
            return [_spliced(w) if w.literal is None else w for w in inner[1:]] or None
        if len(inner) >= 4 and inner[2].literal in ("0", "end"):  # linsert LIST INDEX ELEM...
            base = _spliced(inner[1])
            elements = inner[3:]
            return elements + [base] if inner[2].literal == "0" else [base] + elements
        return None

    def package(self, command: Command) -> None:
        args = [w.literal for w in command.words[2:]]
        exact = args[:1] == ["-exact"]
        if exact:
            args = args[1:]
        if not args or args[0] not in ("smtp", "mime"):
            return
        version = args[1] if len(args) > 1 else None
        self.report.packages[args[0]] = version
        if exact and version is not None:
            self.report.unsupported.append({
                "line": command.line, "feature": f"package require -exact {args[0]} {version}",
                "reason": "the bridge provides smtp 1.5.2 and mime 1.7.2 only",
            })

    def call(self, name: str, words: list[Word], line: int) -> None:
        options, values, literal = self.options(name, words)
        self.report.calls.append(Call(name, line, options, literal, values))
        if name not in BRIDGE_COMMANDS:
            where = "a tcllib-internal proc" if name in KNOWN_COMMANDS else "not in tcllib"
            self.report.unsupported.append({
                "line": line, "feature": name, "reason": f"{where}; the bridge does not provide it",
            })
        known = {"smtp::sendmessage": SENDMESSAGE_OPTIONS, "mime::initialize": INITIALIZE_OPTIONS}
        for option in options:
            if name == "mime::initialize" and option in INTERNAL_INITIALIZE_OPTIONS:
                reason = "mime's internal option: unknown option under the bridge"
            elif name in known and option not in known[name]:
                reason = "unknown option (an error under tcllib too)"
            else:
                continue
            self.report.unsupported.append(
                {"line": line, "feature": f"{name} {option}", "reason": reason})

    def options(self, name: str, words: list[Word]) -> tuple[list[str], dict[str, str], bool]:
        """The options of a call, their literal values, and whether every
        option position could be read."""
        expanded = self.expand(words)
        start = _OPTIONS_FROM.get(name)
        if start is None:
            return [], {}, None not in expanded
        flags = _FLAGS.get(name, frozenset())
        options: list[str] = []
        values: dict[str, str] = {}
        lost = 1 if None in expanded[:start] else None  # where positions stop being known
        i = start
        while lost is None and i < len(expanded):
            word = expanded[i]
            if word is None or word.literal is None:
                lost = i
                break
            options.append(word.literal)
            if word.literal in flags:
                i += 1
                continue
            if i + 1 == len(expanded):
                break  # an option without a value: tcllib's own error
            value = expanded[i + 1]
            if value is None:
                lost = i + 1  # the value's expansion may hold any number of words
            elif value.literal is not None:
                values.setdefault(word.literal, value.literal)
            i += 2
        if lost is None:
            return sorted(set(options)), values, True
        # Past that point, take the words that name options for options.
        options += [
            w.literal for w in expanded[lost:] if w is not None and w.literal in _ALL_OPTIONS
        ]
        return sorted(set(options)), values, False

    def expand(self, words: list[Word]) -> list[Word | None]:
        """The words with {*}$var spliced in where the variable's list is known;
        None marks a position whose words cannot be told."""
        result: list[Word | None] = []
        for word in words:
            if not word.expand:
                result.append(word)
            elif word.literal is not None:
                result += split_list(word.literal, word.line) or [None]
            elif word.var is not None and word.var.lstrip(":") in self.lists:
                known = self.lists[word.var.lstrip(":")]
                result += known if known is not None else [None]
            else:
                result.append(None)
        return result


def _single_list_assignments(commands: list[Command]) -> dict[str, list[Word] | None]:
    """Variables set exactly once in the file to a list we can read
    (`set v [list ...]` or `set v {...}`); others map to None."""
    seen: Counter[str] = Counter()
    lists: dict[str, list[Word] | None] = {}

    def visit(cmds: list[Command], depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        for cmd in cmds:
            words = cmd.words
            head = words[0].literal
            writes = head in ("lappend", "append", "lset", "unset", "foreach") or (
                head == "set" and len(words) >= 3) or head == "lassign"
            if writes and len(words) >= 2:
                targets = words[1:2] if head != "lassign" else words[2:]
                for target in targets:
                    if target.literal:
                        seen[target.literal.lstrip(":")] += 1
            if head == "set" and len(words) == 3 and words[1].literal:
                name = words[1].literal.lstrip(":")
                lists[name] = _list_value(words[2])
            for word in words:
                for script in word.scripts:
                    visit(script, depth + 1)
                if word.braced:
                    visit(parse_script(word.braced, word.body_line), depth + 1)

    visit(commands, 0)
    return {name: (value if seen[name] == 1 else None) for name, value in lists.items()}


def _list_value(word: Word) -> list[Word] | None:
    if word.braced is not None:
        return split_list(word.braced, word.body_line)
    if word.literal is None and len(word.scripts) == 1 and len(word.scripts[0]) == 1:
        inner = word.scripts[0][0].words
        if inner[0].literal == "list" and not any(w.expand for w in inner[1:]):
            return inner[1:]
    return None


def _spliced(word: Word) -> Word:
    """`word` as eval or linsert splice it: a list of unknown length."""
    return Word(word.line, var=word.var, expand=True, scripts=word.scripts)


_BYPASS_COMMANDS = frozenset(
    {"socket", "::socket", "exec", "::exec", "open", "::open", "source", "::source"})
MAIL_PROGRAMS = frozenset({
    "sendmail", "mail", "mailx", "Mail", "s-nail", "mutt", "msmtp", "ssmtp", "postdrop",
    "exim", "exim4", "nullmailer-inject", "dma", "esmtp", "swaks", "sendmail.postfix",
})
_TCL_SHELL = re.compile(r"^(?:tclsh|wish|expect)[\d.]*$")
_WITHOUT_SANDBOX = "; without one it can reach real servers"
_BYPASS_REASONS = {
    "socket": "a raw socket: the bridge does not see what it sends; under run --capture and "
              "check it reaches only loopback (a private network namespace)" + _WITHOUT_SANDBOX,
    "sendmail": "captured under run --capture and check (their sendmail on PATH and over "
                "/usr/sbin/sendmail); otherwise the system's sendmail delivers it",
    "mail program": "a mail program: under run --capture and check it cannot reach a server, "
                    "so its mail fails unless it hands it to sendmail" + _WITHOUT_SANDBOX,
    "tclsh": "a child tclsh runs tcllib's smtp, not the bridge: under run --capture and check "
             "its connections fail; run the child with `tclbridge run` to capture it",
    "smtp.tcl": "tcllib's own smtp replaces the bridge's: under run --capture and check its "
                "connections fail" + _WITHOUT_SANDBOX,
}


def _program(command_word: str) -> str:
    """The mail program or Tcl shell a command line starts, by name, or ""."""
    name = (command_word.split() or [""])[0].rsplit("/", 1)[-1]
    if name in MAIL_PROGRAMS:
        return name
    return "tclsh" if _TCL_SHELL.match(name) else ""


def _pipe_command(word: Word) -> str:
    """What `open` runs for a "|cmd ..." word or [list |cmd ...], else ""."""
    if word.fixed.startswith("|"):
        return word.fixed[1:]
    if len(word.scripts) == 1 and len(word.scripts[0]) == 1:
        inner = word.scripts[0][0].words
        if inner[0].literal == "list" and len(inner) > 1 and inner[1].fixed.startswith("|"):
            return inner[1].fixed[1:]
    return ""


def _names_smtp_tcl(word: Word) -> bool:
    """`source .../smtp.tcl`, `source $dir/smtp.tcl`, `source [file join $d smtp.tcl]`."""
    texts = [word.fixed] + [w.fixed for script in word.scripts for c in script for w in c.words]
    return any(text.rsplit("/", 1)[-1] == "smtp.tcl" for text in texts)


def _is_create(word: Word) -> bool:
    """`interp create`, or an unambiguous abbreviation of it (`interp cr`)."""
    sub = word.literal or ""
    return len(sub) > 1 and "create".startswith(sub)


def analyse(text: str, path: str) -> FileReport:
    report = FileReport(path)
    commands = parse_script(text)
    _Analysis(report, commands).walk(commands)
    return report


# -- files ---------------------------------------------------------------------------


def is_tcl_file(path: Path) -> bool:
    if path.suffix.lower() in TCL_SUFFIXES:
        return True
    try:
        with path.open("rb") as file:
            head = file.read(512).decode("latin-1")
    except OSError:
        return False
    if not head.startswith("#!"):
        return False
    # The first line, or the `exec tclsh "$0"` line of the /bin/sh trick.
    return any(_SHEBANG.match(line.strip()) for line in head.splitlines()[:4])


def tcl_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file() and path.stat().st_size <= MAX_FILE_SIZE and is_tcl_file(path):
                yield path


def scan(root: Path, warn: Callable[[str], None] = print) -> list[FileReport]:
    reports = []
    for path in tcl_files(root):
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            warn(f"tclbridge scan: cannot read {path}: {exc.strerror or exc}")
            continue
        shown = path.name if path == root else str(path.relative_to(root))
        report = analyse(text, shown)
        if report.uses_smtp_or_mime:
            reports.append(report)
    return sorted(reports, key=lambda r: r.path)


def summary(reports: list[FileReport]) -> dict[str, object]:
    def tally(found: Callable[[FileReport], Mapping[str, object]]) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for report in reports:
            counts.update(set(found(report)))
        return dict(sorted(counts.items()))

    return {
        "files": len(reports),
        "files_with_compat": sum(1 for r in reports if r.compat()),
        "files_with_unsupported": sum(1 for r in reports if r.unsupported),
        "files_not_literal": sum(1 for r in reports if r.not_literal()),
        "files_with_bypass": sum(1 for r in reports if r.bypass),
        "commands": tally(FileReport.commands),
        "compat": tally(FileReport.compat),
    }


# -- output ---------------------------------------------------------------------------


def render(reports: list[FileReport]) -> str:
    lines: list[str] = []
    for report in reports:
        lines.append(report.path)
        lines += findings(report)
        lines.append("")
    lines += _table(reports)
    return "\n".join(lines)


def findings(report: FileReport) -> list[str]:
    """What was found in one file, a line each, indented (also used by
    `tclbridge check --report`)."""
    lines: list[str] = []
    for name, entry in report.commands().items():
        options = " ".join(entry["options"])
        calls = f"{entry['calls']} call" + ("s" if entry["calls"] != 1 else "")
        lines.append(f"    {name} ({calls})" + (f": {options}" if options else ""))
    for compat_row, features in report.compat().items():
        lines.append(f"    COMPAT {compat_row}: {', '.join(features)}")
    for item in report.unsupported:
        lines.append(f"    unsupported (line {item['line']}): {item['feature']}: "
                     f"{item['reason']}")
    for item in report.not_literal():
        lines.append(f"    options not literal: {item['command']} (line {item['line']})")
    for item in report.bypass:
        lines.append(f"    around the bridge (line {item['line']}): {item['feature']}: "
                     f"{item['reason']}")
    return lines


def _table(reports: list[FileReport]) -> list[str]:
    header = ("FILE", "SMTP", "MIME", "COMPAT", "UNSUPPORTED", "NOT LITERAL")
    rows = [header]
    for r in reports:
        rows.append((
            r.path,
            str(sum(1 for c in r.calls if c.command.startswith("smtp::"))),
            str(sum(1 for c in r.calls if c.command.startswith("mime::"))),
            str(len(r.compat())),
            str(len(r.unsupported)),
            str(len(r.not_literal())),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    total = summary(reports)
    lines.append(
        f"{total['files']} files use smtp/mime: {total['files_with_compat']} with COMPAT "
        f"entries, {total['files_with_unsupported']} with unsupported uses, "
        f"{total['files_not_literal']} with options that are not literal"
        + (f", {total['files_with_bypass']} sending mail around the bridge"
           if total["files_with_bypass"] else ""))
    return lines


_DESCRIPTION = """\
`tclbridge scan DIR`: an inventory of what Tcl scripts use of smtp and mime.

Finds Tcl files (*.tcl, *.tk, *.exp, and files whose first lines start
tclsh or wish), lists per file the smtp/mime commands and options it uses,
flags the uses that behave differently under the bridge (its intended
differences from tcllib, named as `tclbridge help compat` lists them) or that
the bridge does not provide, and ends with a summary table; `--json` prints
the same for tools. Scripts are parsed, never run; a file is read up to
4 MiB.

Scripts are read with Tcl's word rules; every braced word is read as a script
too, so calls inside proc bodies, catch, if, foreach and
`eval [linsert $opts 0 smtp::sendmessage ...]` are found. Options that come
from a variable are followed through `set VAR [list ...]` (or a braced list)
when the file assigns VAR only that once; otherwise the call is reported as
"options not literal".

Exit status: 0 when the scan ran (whatever it found), 2 when DIR does not
exist."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    scan_parser = subparsers.add_parser(
        "scan", help="list what Tcl scripts use of smtp/mime and what differs under the bridge",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    scan_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    scan_parser.add_argument("dir", help="a directory (searched recursively) or one file")


def main(opts: argparse.Namespace) -> int:
    """0: scanned (whatever was found), 2: DIR does not exist."""
    root = Path(opts.dir)
    if not root.exists():
        print(f"tclbridge scan: no such file or directory: {opts.dir}")
        return 2
    reports = scan(root, warn=lambda line: print(line, file=sys.stderr))
    if opts.json:
        result = {"root": str(root), "files": [r.to_json() for r in reports],
                  "summary": summary(reports)}
        print(json.dumps(result, indent=1))
    else:
        print(render(reports))
    return 0
