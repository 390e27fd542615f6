"""Which docs/COMPAT.md entry explains a difference between tcllib's run and
the bridge's, and why, in one line.

`CAUSES` is the table: one row per COMPAT entry, with the one-line reason
`tclbridge check` prints and how a difference the entry explains is
recognised. The recognisers are of a few kinds:

- `transformed`: the entry has a transform of tcllib's outcome
  (differential.compat); the difference is explained when it is gone once
  the transform is applied to tcllib's side.
- `shows`: the bridge's value (and/or tcllib's) in the difference holds the
  entry's distinctive text, say "(header injection refused)".
- `refused`: as `shows`, and also a session or message that tcllib made and
  the bridge did not, when the bridge's output shows the refusal: the bridge
  refused before connecting, so there was nothing to send.
- `only_lines`: lines only tcllib printed, all of one kind (the second
  Content-Transfer-Encoding of a message the script printed).

A line printed with a labelled line as part of the same outcome (a
*companion*) gets its labels; nothing else is labelled for being near one.
A companion is an unlabelled stdout (stderr) difference of one line on each
side, on the line just before or after a labelled one, or next to another
companion of it, that shows one of:

- a return code: the two lines are the same but for one number, a Tcl return
  code (0-4, or tcllib's 7), alone on the line or after the word "code"
  (`code=0` / `code=1`): what `catch` gave for the labelled command;
- an errorCode: one side's line is an errorCode, after the word "errorCode"
  or alone (`NONE`, `TCL LOOKUP VARNAME`): what the failing run printed where
  the other printed its success path.

Recognisers look at whole values (a message body, a script's whole output):
each runs in linear time, as every parser does (no pattern with two
unbounded runs over the same characters; multisets, not list removals).

An entry without a recogniser says why (`applied`: its transform runs on
every comparison, so it never shows as a difference; or nothing in a run's
output tells it apart, or check's server never triggers it).
"""

from __future__ import annotations

import copy
import functools
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from tclbridge.differential.compare import compare, diff, prepare
from tclbridge.differential.compat import apply_compat_tree, only_in_tree
from tclbridge.differential.normalize import Normalized
from tclbridge.differential.outcome import DEFAULT_ASPECTS, Difference, ObservedRun


@dataclass
class Evidence:
    """What recognisers may look at besides the difference itself."""

    bridge: Normalized  # the bridge's run, masked as the differences are
    # The differences once tcllib's outcome gets this COMPAT entry's transform.
    without: Callable[[str], frozenset[Difference]]

    @cached_property
    def bridge_output(self) -> str:
        return "\n".join((self.bridge.stdout, self.bridge.stderr, self.bridge.error or ""))


Recogniser = Callable[[Difference, Evidence], bool]


@dataclass(frozen=True)
class Cause:
    name: str  # the docs/COMPAT.md entry
    reason: str  # one line: what tcllib does and the bridge does instead
    recognise: Recogniser | None = field(default=None, compare=False)
    unlabelled: str = ""  # without a recogniser: why no difference is labelled with it

    def label(self) -> str:
        return f"COMPAT {self.name}: {self.reason}"

    def link(self) -> str:
        """Where the entry is explained: the installed help, not a source file."""
        return f"tclbridge help compat {self.name}"


# -- recognisers -----------------------------------------------------------------------


def transformed(entry: str, where: str) -> Recogniser:
    """Gone once tcllib's outcome gets the entry's transform; only differences
    whose place matches `where` (what the transform changes) count, since
    the transform can also change which sessions or messages pair up."""
    place = re.compile(where)

    def recognise(difference: Difference, evidence: Evidence) -> bool:
        return bool(place.search(difference.where)) and difference not in evidence.without(entry)
    return recognise


def shows(bridge: str | None = None, tcllib: str | None = None, *,
          not_bridge: str | None = None) -> Recogniser:
    """The difference's bridge value matches `bridge` and tcllib's matches
    `tcllib` (each if given); the bridge's does not match `not_bridge`."""
    wanted = [(side, re.compile(pattern)) for side, pattern in ((1, bridge), (0, tcllib))
              if pattern is not None]
    unwanted = re.compile(not_bridge) if not_bridge is not None else None

    def recognise(difference: Difference, evidence: Evidence) -> bool:
        values = difference.full
        if unwanted is not None and unwanted.search(values[1]):
            return False
        return all(pattern.search(values[side]) for side, pattern in wanted)
    return recognise


def either_side(pattern: str) -> Recogniser:
    found = re.compile(pattern)

    def recognise(difference: Difference, evidence: Evidence) -> bool:
        return any(found.search(value) for value in difference.full)
    return recognise


def any_of(*recognisers: Recogniser) -> Recogniser:
    def recognise(difference: Difference, evidence: Evidence) -> bool:
        return any(r(difference, evidence) for r in recognisers)
    return recognise


_COUNTS = ("number of SMTP sessions", "number of delivered messages")
_WHOLE = re.compile(r"(session|message) \d+")


def lost_on_bridge(difference: Difference) -> bool:
    """A whole session or message tcllib made and the bridge did not."""
    if difference.aspect not in ("commands", "envelope", "messages"):
        return False
    if difference.where in _COUNTS:
        return int(difference.actual) < int(difference.expected)
    return difference.actual == "nothing (missing)" and bool(_WHOLE.fullmatch(difference.where))


def refused(pattern: str) -> Recogniser:
    """The bridge refused with this text before sending: the difference shows
    the text, or is something not sent while the bridge's output shows it."""
    found = re.compile(pattern)

    def recognise(difference: Difference, evidence: Evidence) -> bool:
        if found.search(difference.full[1]):
            return True
        return lost_on_bridge(difference) and bool(found.search(evidence.bridge_output))
    return recognise


def _dropped_before_the_dot(difference: Difference, evidence: Evidence) -> bool:
    """A message tcllib delivered, when a bridge session ended right after DATA
    (the connection dropped without the final dot)."""
    ended_at_data = any(session and session[-1] == "DATA" for session in evidence.bridge.commands)
    # tcllib's commands from its dot on (RSET, QUIT) were never written.
    return ended_at_data and (lost_on_bridge(difference) or (
        difference.aspect == "commands" and ("DATA" in difference.full[0]
                                             or difference.actual == "nothing (missing)")))


_REFUSED_NON_ASCII = re.compile(r"5\.6\.7 non-ASCII address|5\.1\.[37] domain ")
# An address in a value: starting only where a run of address characters
# starts (the lookbehind), so a long run without "@" is tried once, not
# from each of its characters.
_ADDRESS = re.compile(r"(?<![^\s<>'\",\[\]{}@])[^\s<>'\",\[\]{}@]+@[^\s<>'\",\[\]{}]+")
# A byte above 0x7F as a value shown with repr() writes it (an undecodable
# byte is "\udcfc").
_ESCAPED_HIGH = re.compile(r"\\(?:u[0-9a-f]{4}|x[89a-f][0-9a-f])")


def _non_ascii_not_sent(difference: Difference, evidence: Evidence) -> bool:
    """What tcllib sent of a non-ASCII address (its characters' low bytes) in
    a command, an envelope or a whole session or message, where the bridge
    refused to send it, as its output says."""
    if difference.aspect not in ("commands", "envelope", "messages"):
        return False
    output = evidence.bridge_output
    if not _REFUSED_NON_ASCII.search(output):
        return False
    if lost_on_bridge(difference):
        return True
    # A character above U+00FF went out as its low byte: 用户 as "(7".
    lowered = {"".join(chr(ord(c) & 0xFF) for c in address)
               for address in _ADDRESS.findall(output) if not address.isascii()}
    sent = set(_ADDRESS.findall(difference.full[0])) - set(_ADDRESS.findall(difference.full[1]))
    return any(not address.isascii() or _ESCAPED_HIGH.search(address) or address in lowered
               for address in sent)


def _closing_bracket(difference: Difference, evidence: Evidence) -> bool:
    """tcllib's value is the bridge's with a "]" added (mime 1.7.0's parser
    appends one to a header line that ends in CR; in a printed Tcl list it
    is escaped, "\\]")."""
    tcllib, bridge = difference.full

    def bare(text: str) -> str:
        return text.replace("\\]", "").replace("]", "")
    return tcllib.count("]") > bridge.count("]") and bare(tcllib) == bare(bridge)


def only_lines(tcllib: str) -> Recogniser:
    """Lines only tcllib printed, each of them matching `tcllib` (a message the
    script printed, say, with tcllib's extra header lines)."""
    line = re.compile(tcllib)

    def recognise(difference: Difference, evidence: Evidence) -> bool:
        extra, bridge = difference.full
        lines = extra.splitlines()
        return (difference.aspect in ("stdout", "stderr") and bridge == "" and bool(lines)
                and all(line.fullmatch(text) for text in lines))
    return recognise


# Headers tcllib's sendmessage adds to the caller's token (and leaves there).
_ADDED_HEADERS = frozenset({
    "from", "to", "cc", "bcc", "date", "message-id", "sender", "resent-from", "resent-to",
    "resent-cc", "resent-bcc", "resent-date", "resent-message-id", "resent-sender"})
# Headers mime::setheader refuses (tcllib leaves the name behind).
_READ_ONLY_HEADERS = frozenset({"content-type", "content-transfer-encoding", "content-md5",
                                "mime-version"})


# One-word header names a token can hold (RFC 5322, 2045, 2183, 4021 and common
# ones); with _NAME_PREFIXES, what `mime::getheader $tok -names` prints.
_ONE_WORD_HEADERS = frozenset({
    "date", "from", "sender", "to", "cc", "bcc", "subject", "comments", "keywords",
    "received", "references", "encrypted", "importance", "priority", "precedence",
    "sensitivity", "organization", "organisation", "lines", "path", "newsgroups", "summary",
    "expires", "supersedes", "xref", "approved", "distribution", "control", "archive",
    "autoforwarded", "language", "obsoletes", "followup-to"})
_NAME_PREFIXES = ("x-", "content-", "resent-", "list-", "reply-", "in-reply-", "message-",
                  "mime-", "return-", "disposition-", "original-", "user-", "errors-",
                  "delivered-", "auto-", "mail-", "thread-", "authentication-", "dkim-",
                  "arc-", "envelope-", "require-", "apparently-")
_TOKENS = re.compile(r"[^\s\[\]{}]+|[\[\]{}]")
_NAME_CHARACTERS = re.compile(r"[a-z0-9-]+")


@functools.lru_cache(maxsize=1024)
def _header_name(token: str) -> bool:
    lower = token.lower()
    return lower in _ONE_WORD_HEADERS or (lower.startswith(_NAME_PREFIXES)
                                          and _NAME_CHARACTERS.fullmatch(lower) is not None)


def _common_ends(a: Sequence[str], b: Sequence[str]) -> tuple[int, int]:
    """How many items `a` and `b` share at the start, and then at the end."""
    limit = min(len(a), len(b))
    start = 0
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    return start, end


def header_names_left(names: frozenset[str]) -> Recogniser:
    """A printed list of a token's header names (`mime::getheader $tok -names`)
    where tcllib's has more, all of them `names` (lower case): one stdout
    (stderr) line on each side, the same but for that list; every word of the
    list on both sides is a header name; the list stands alone, in brackets
    or braces, or after a word ending in ":" or "=" (`headers: From To`).
    Counted as multisets: linear in the line's length."""
    def recognise(difference: Difference, evidence: Evidence) -> bool:
        if difference.aspect not in ("stdout", "stderr"):
            return False
        lines = [text.rstrip("\r\n") for text in difference.full]
        if any("\n" in line for line in lines):
            return False
        tcllib, bridge = (_TOKENS.findall(line) for line in lines)
        start, end = _common_ends(tcllib, bridge)
        # The whole list: the differing words and the names around them.
        while start > 0 and _header_name(tcllib[start - 1]):
            start -= 1
        while end > 0 and _header_name(tcllib[len(tcllib) - end]):
            end -= 1
        before = tcllib[start - 1] if start > 0 else "["
        if not (before in ("[", "{") or before.endswith((":", "="))):
            return False
        if end > 0 and tcllib[len(tcllib) - end] not in ("]", "}"):
            return False
        listed = [Counter(words[start:len(words) - end]) for words in (tcllib, bridge)]
        extra = listed[0] - listed[1]
        return (bool(listed[1]) and bool(extra) and not listed[1] - listed[0]
                and all(_header_name(word) for side in listed for word in side)
                and all(word.lower() in names for word in extra))
    return recognise


def _runs_python(difference: Difference, evidence: Evidence) -> bool:
    """`info nameofexecutable`: tcllib shows tclsh, the bridge the Python
    running it (check starts it with this one), or its file name."""
    tcllib, bridge = difference.full
    names = {sys.executable, str(Path(sys.executable).resolve())}
    names |= {Path(name).name for name in names}
    return "tclsh" in tcllib and any(name in bridge for name in names)


def _up_to(start: str) -> str:
    """A pattern for the text of one line between `start` (a pattern) and what
    follows, that stops where `start` occurs again: each character is looked
    at from one start only, so a line of starts is linear, not quadratic
    (`.*` scanned the rest of the line from each)."""
    return f"(?:(?!{start})[^\\n])*?"


# -- the table --------------------------------------------------------------------------

APPLIED = "applied to tcllib's run in every comparison, so never shown as a difference"
UNSEEN = "nothing in a run's output tells it apart from other differences"
NOT_UNDER_CHECK = "check's server accepts everything at once, so it is never triggered there"

CAUSES: tuple[Cause, ...] = (
    Cause("package-version", "the bridge provides smtp 1.5.2 and mime 1.7.2",
          any_of(shows(bridge=r"\b1\.(5\.2|7\.2)\b", tcllib=r"\b1\.(5\.1|7\.0)\b"),
                 shows(bridge=r'version conflict for package "(smtp|mime)": have 1\.(5\.2|7\.2)'))),
    Cause("token-restored", "tcllib leaves the headers it added on the token",
          any_of(transformed("token-restored", where=r"^message \d+: header "),
                 header_names_left(_ADDED_HEADERS))),
    Cause("header-injection",
          "the bridge refuses a header line break that is not folding (tcllib sends it)",
          refused(r"\(header injection refused\)")),
    Cause("parsed-header-injection",
          "the bridge refuses such a line break in a parsed message's headers too",
          unlabelled="its refusal has header-injection's text, and is labelled with that"),
    Cause("bare-cr", "every bare CR and LF becomes CRLF in DATA", unlabelled=APPLIED),
    # Applied to every delivered message; these find them in what a script prints.
    Cause("cte-once", "tcllib writes Content-Transfer-Encoding twice",
          only_lines(r"Content-Transfer-Encoding: \S*\r?")),
    Cause("qp-dot-line", "tcllib's quoted-printable joins a \".\" line to the line before",
          shows(tcllib=r"[^\n]=2E\r?\n", bridge=r"\n=2E\r?\n")),
    Cause("boundary-once", "mime 1.7.0 writes the boundary parameter twice",
          any_of(only_lines(r'\s*boundary="[^"]*"\r?|;\r?'),
                 shows(tcllib=r"improper line in header: ;", not_bridge=r"improper line"))),
    Cause("size-bytes", "SIZE= counts bytes, not characters",
          unlabelled="SIZE values are masked in every comparison"),
    Cause("connect-error-text", "the bridge names a refused connection as such",
          shows(bridge=r"couldn't open socket: connection refused",
                tcllib=r"socket is not connected")),
    Cause("body-error-no-dot",
          "a body that fails mid-DATA is never delivered (tcllib sends a truncated one)",
          _dropped_before_the_dot),
    Cause("command-injection",
          "the bridge refuses a line break in an address, -client or -username",
          refused(r"\(SMTP command injection refused\)")),
    Cause("utf8-commands",
          "non-ASCII addresses go as UTF-8 with SMTPUTF8 or as A-labels, never as low bytes",
          any_of(shows(bridge=r"xn--|SMTPUTF8|5\.6\.7 non-ASCII address|5\.1\.[37] domain "
                              + _up_to("5\\.1\\.[37] domain ")
                              + r" is not a valid internationalized domain name"),
                 _non_ascii_not_sent)),
    Cause("setheader-atomic", "a failed mime::setheader changes nothing in the bridge",
          any_of(shows(tcllib=r'"header\([^)"\n]*\)": no such element in array'),
                 header_names_left(_READ_ONLY_HEADERS))),
    Cause("parts-checked", "the bridge reports a bad -parts token at mime::initialize",
          either_side(r'"state\(header\)": no such variable')),
    Cause("lone-surrogate",
          "the bridge refuses a lone surrogate in an address or credential (tcllib sends a NUL)",
          refused(r"lone surrogate U\+[0-9A-F]{4}" + _up_to(r"lone surrogate U\+")
                  + " is not a character and cannot be sent")),
    Cause("internal-options", "mime::initialize's internal -lineslist is unknown to the bridge",
          shows(bridge=r"unknown option -lineslist\b")),
    Cause("file-and-string", "the bridge refuses -file with -string without -canonical",
          shows(bridge=r"specify exactly one of -file, -parts, or -string")),
    Cause("root-channel", "with -root the bridge reads the message by its file name",
          unlabelled=UNSEEN),
    Cause("count-past-eof", "getbody stops at the end of the file where tcllib loops forever",
          unlabelled="tcllib loops forever, which check reports as a timeout"),
    Cause("parse-cr-headers", "mime 1.7.0's parser adds \"]\" to a header line ending in CR",
          _closing_bracket),
    Cause("parse-depth", "more than 250 nested MIME parts is an error in the bridge",
          shows(bridge=r"MIME parts nested too deeply")),
    Cause("parseaddress-depth", "tcllib's mime::parseaddress runs out of Tcl stack",
          shows(tcllib=r"too many nested evaluations", not_bridge=r"too many nested evaluations")),
    Cause("parse-failed-piece", "a part that fails to parse leaves nothing half-made",
          unlabelled=UNSEEN),
    Cause("parse-encoding-scan", "a parsed file's encoding is found once", unlabelled=UNSEEN),
    Cause("parse-shrinking-file", "getbody stops at the end of a file that shrank",
          unlabelled="tcllib loops forever, which check reports as a timeout"),
    Cause("qp-crlf", "the bridge removes quoted-printable soft breaks before CRLF",
          shows(tcllib=r"=\r\n", not_bridge=r"=\r\n")),
    Cause("getbody-blocksize", "the bridge rejects a -blocksize that is not a positive integer",
          shows(bridge=r"-blocksize expects a positive integer")),
    Cause("getbody-callback-codes",
          "break, continue and return from a getbody callback end the loop in the bridge",
          unlabelled=UNSEEN),
    Cause("finalize-gone-part",
          "mime::finalize -subordinates all skips a part already finalized",
          shows(tcllib=r'"state\(value\)": no such variable',
                not_bridge=r'"state\(value\)": no such variable')),
    Cause("child-interp", "smtp and mime load only in the bridge's main interpreter",
          refused(r"is not available in a child interpreter")),
    Cause("nameofexecutable", "info nameofexecutable is the Python running the bridge",
          _runs_python),
    Cause("tls-verify", "the bridge verifies the server's TLS certificate",
          refused(r"could not be verified|certificate verify failed")),
    Cause("tlsimport-no-starttls", "the bridge never asks for STARTTLS inside implicit TLS",
          unlabelled="check's server lists no STARTTLS inside TLS, so it is never triggered "
                     "there"),
    Cause("auth-plaintext", "the bridge sends no password over an unencrypted connection",
          refused(r"over an unencrypted connection")),
    Cause("auth-mechanisms", "the bridge prefers SCRAM and knows no NTLM",
          any_of(shows(bridge=r"\bAUTH (SCRAM-SHA-(256|1)|XOAUTH2|OAUTHBEARER)\b"),
                 shows(tcllib=r"\bAUTH NTLM\b"))),
    Cause("auth-charset", "passwords go as UTF-8",
          unlabelled="passwords are hidden in every output, so their bytes are not compared"),
    Cause("maxsecs-number",
          "the bridge rejects a -maxsecs it cannot use before connecting (tcllib after sending)",
          refused(r'can.t use non-numeric string as operand of "\*"|'
                  r'bad argument "[^"]*": must be cancel, idle, info, or an integer')),
    Cause("auth-hidden", "-debug shows AUTH payloads as <hidden>", unlabelled=APPLIED),
    Cause("bcc-failure", "a failed Bcc transaction lists the Bcc recipients as refused",
          # Linear without possessive runs (Python 3.10 has none): no
          # run can hold what ends it ("@", then a space or brace).
          shows(bridge=r"\{[^{}\s@]+@[^{}\s]+ [45]\d\d ", not_bridge=r"5\.6\.7|5\.1\.[37] ")),
    Cause("write-error-text", "the bridge names a failed write as such",
          shows(bridge=r"error writing to server:", tcllib=r'error flushing "sock')),
    Cause("starttls-injection", "the bridge drops bytes sent before the TLS handshake",
          refused(r"STARTTLS response injection")),
    Cause("reply-wait-whole", "the wait for a reply covers the whole reply",
          unlabelled=NOT_UNDER_CHECK),
    Cause("maxsecs-body", "-maxsecs also covers writing the body", unlabelled=NOT_UNDER_CHECK),
)

BY_NAME: dict[str, Cause] = {cause.name: cause for cause in CAUSES}


def explain(tcllib: ObservedRun, bridge: ObservedRun, differences: Sequence[Difference], *,
            compat: Sequence[dict[str, Any]] = (),
            prepared: tuple[Normalized, Normalized] | None = None,
            **options: Any) -> list[Difference]:
    """`differences` (from `compare(tcllib, bridge, compat=compat, **options)`),
    each with the names of the COMPAT entries that explain it. `prepared`:
    what `prepare(tcllib, bridge, compat=compat, ...)` gave for them, if the
    caller has it (else it is made here: both runs parsed once more)."""
    expected, actual = prepared or prepare(
        tcllib, bridge, compat=compat, unmasked_headers=options.get("unmasked_headers", ()))
    cache: dict[str, frozenset[Difference]] = {}

    def without(entry: str) -> frozenset[Difference]:
        if entry in cache:  # a set: each difference is looked up in it
            return cache[entry]
        if only_in_tree(entry):
            # Applied to a copy of tcllib's parsed messages, not by a comparison
            # of both runs from their raw output again.
            copied = replace(expected, messages=copy.deepcopy(expected.messages))
            apply_compat_tree(copied, [{"entry": entry}])
            found = diff(copied, actual, options.get("aspects", DEFAULT_ASPECTS))
        else:
            found = compare(tcllib, bridge, compat=[*compat, {"entry": entry}], **options)
        cache[entry] = frozenset(found)
        return cache[entry]

    evidence = Evidence(actual, without)
    found = [tuple(c.name for c in CAUSES if c.recognise is not None and c.recognise(d, evidence))
             for d in differences]
    return [replace(d, causes=names)
            for d, names in zip(differences, _with_companions(differences, found), strict=True)]


_PLACE = re.compile(r"lines? (\d+)(?:-(\d+))?")  # tcllib's line numbers of an output difference


def _with_companions(differences: Sequence[Difference], found: Sequence[tuple[str, ...]]
                     ) -> list[tuple[str, ...]]:
    """`found` (each difference's labels), with each companion of a labelled
    output line given that line's labels (see the module's docstring)."""
    lines: dict[tuple[str, int], int] = {}
    places: dict[int, tuple[int, int]] = {}
    for i, d in enumerate(differences):
        place = _PLACE.fullmatch(d.where) if d.aspect in ("stdout", "stderr") else None
        if place is not None:
            first = int(place.group(1))
            places[i] = (first, int(place.group(2) or first))
            if place.group(2) is None:
                lines[(d.aspect, first)] = i
    labels = list(found)
    for i, (first, last) in places.items():
        if not found[i]:
            continue
        for step, line in ((-1, first - 1), (1, last + 1)):
            # Outward from the labelled line, while each next line is a companion.
            while (k := lines.get((differences[i].aspect, line))) is not None \
                    and not found[k] and _companion(differences[k]):
                labels[k] = tuple(dict.fromkeys((*labels[k], *found[i])))
                line += step
    return labels


_CODE_BEFORE = re.compile(r"\bcode\s*[=:]?\s*\Z", re.IGNORECASE)
_RETURN_CODE = re.compile(r"[0-47]")
_ERRORCODE_WORD = re.compile(r"\berrorcode\b", re.IGNORECASE)
_ERRORCODE_ALONE = re.compile(r"NONE|[A-Z][A-Z0-9]+ \S+(?: .*)?")


def _companion(difference: Difference) -> bool:
    """One line each side, which differ by a return code or show an errorCode."""
    tcllib, bridge = (text.rstrip("\r\n") for text in difference.full)
    if "\n" in tcllib or "\n" in bridge:
        return False
    if any(_ERRORCODE_WORD.search(line) or _ERRORCODE_ALONE.fullmatch(line.strip())
           for line in (tcllib, bridge)):
        return True
    start, end = _common_ends(tcllib, bridge)
    while start > 0 and tcllib[start - 1].isdigit():  # whole numbers, not digits
        start -= 1
    while end > 0 and tcllib[len(tcllib) - end].isdigit():
        end -= 1
    codes = [line[start:len(line) - end] for line in (tcllib, bridge)]
    before, after = tcllib[:start], tcllib[len(tcllib) - end:]
    alone = not before.strip() and not after.strip()
    return (all(_RETURN_CODE.fullmatch(code) for code in codes)
            and (alone or _CODE_BEFORE.search(before[-40:]) is not None))
