"""Compare what two runs of a Tcl mail script did: tcllib (expected) vs the bridge.

Reusable without the case files (``tclbridge check`` can use it): build an
`Outcome` for each run, then call `compare`. Steps:

1. ``apply_compat`` turns the tcllib outcome into what the bridge should do
   where docs/COMPAT.md says the bridge intentionally differs.
2. ``normalize`` masks the random parts (dates, message ids, boundaries,
   client host name, SIZE values, token numbers, unique ids, run-specific
   values such as ports) and parses each message with the ``email`` package.
3. ``diff`` lists each difference in plain words.
"""

from __future__ import annotations

import difflib
import email
import email.message
import email.parser
import email.policy
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

ASPECTS = ("exit", "stdout", "stderr", "commands", "envelope", "messages")
DEFAULT_ASPECTS = ("exit", "stdout", "commands", "envelope", "messages")

# Header values that are random per run (compared lower-case).
RANDOM_HEADERS = {
    "date": "<DATE>",
    "resent-date": "<DATE>",
    "message-id": "<MESSAGE-ID>",
    "resent-message-id": "<MESSAGE-ID>",
    "content-id": "<CONTENT-ID>",
}

_UNIQUE_ID = re.compile(r"<\d+\.\d+\.\d+@[^>\s]*>")  # mime::uniqueID: <pid.secs.n@host>
# An RFC 822 date-time as mime::parsedatetime writes it (masked in bodies, where a
# malformed header block can leave Date lines).
_DATE_TIME = re.compile(r"\b\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\b")
_TOKEN = re.compile(r"::(mime|smtp)::\d+")
_CHANNEL = re.compile(r"\bsock[0-9a-f]+\b")  # Tcl socket channel names
_SIZE = re.compile(r"\bSIZE=\d+", re.IGNORECASE)
_GREETING_CMD = re.compile(r"^(EHLO|HELO) (\S+)", re.IGNORECASE)
_DEBUG_GREETING = re.compile(r"^(--> (?:EHLO|HELO)) (\S+)", re.MULTILINE | re.IGNORECASE)


@dataclass
class Delivered:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    data: bytes  # as on the wire: CRLF, dot-stuffed, without the final ".\r\n"


@dataclass
class Outcome:
    """Everything a run of a script showed: process output and server record."""

    exit: int | None  # None: killed after a timeout
    stdout: str
    stderr: str
    sessions: list[list[str]]  # client command lines, one list per connection
    messages: list[Delivered]
    substitutions: dict[str, str] = field(default_factory=dict)  # run value -> placeholder


@dataclass(frozen=True)
class Difference:
    aspect: str
    where: str
    expected: str
    actual: str

    def describe(self, expected_label: str = "tcllib", actual_label: str = "bridge") -> str:
        return (f"{self.aspect}: {self.where}: {expected_label} gives {self.expected}, "
                f"{actual_label} gives {self.actual}")

    def __str__(self) -> str:
        return self.describe()


# -- masking -------------------------------------------------------------------------


def _local_names() -> set[str]:
    names = {"localhost"}
    for lookup in (socket.gethostname, socket.getfqdn):
        try:
            names.add(lookup())
        except OSError:
            pass
    return names


@dataclass
class Masker:
    """Replaces the parts of an outcome that differ from run to run."""

    unmasked_headers: frozenset[str] = frozenset()  # lower-case names to keep as they are
    client_names: frozenset[str] = field(default_factory=lambda: frozenset(_local_names()))

    def text(self, value: str, substitutions: dict[str, str]) -> str:
        value = _UNIQUE_ID.sub("<UNIQUE-ID>", value)
        value = _TOKEN.sub(r"::\1::N", value)
        value = _CHANNEL.sub("sock<ID>", value)
        value = _SIZE.sub("SIZE=<N>", value)
        for literal, placeholder in sorted(substitutions.items(), key=lambda kv: -len(kv[0])):
            if literal:
                value = re.sub(rf"(?<![\w.]){re.escape(literal)}(?![\w])", placeholder, value)
        return value

    def client(self, name: str) -> str:
        return "<CLIENT>" if name in self.client_names else name

    def command(self, line: str, substitutions: dict[str, str]) -> str:
        match = _GREETING_CMD.match(line)
        if match:
            line = f"{match.group(1)} {self.client(match.group(2))}{line[match.end():]}"
        return self.text(line, substitutions)

    def stream(self, value: str, substitutions: dict[str, str]) -> str:
        value = _DEBUG_GREETING.sub(lambda m: f"{m.group(1)} {self.client(m.group(2))}", value)
        return self.text(value, substitutions)

    def header(self, name: str, value: str) -> str:
        lower = name.lower()
        if lower in RANDOM_HEADERS and lower not in self.unmasked_headers:
            return RANDOM_HEADERS[lower]
        return _UNIQUE_ID.sub("<UNIQUE-ID>", value)

    def body(self, value: bytes) -> bytes:
        text = _UNIQUE_ID.sub("<UNIQUE-ID>", value.decode("latin-1"))
        return _DATE_TIME.sub("<DATE>", text).encode("latin-1")


# -- message model ---------------------------------------------------------------------


@dataclass
class Part:
    """One MIME part in comparable form."""

    headers: list[tuple[str, str]]
    content_type: str
    params: list[tuple[str, str]]
    defects: list[str]
    body: bytes | None  # decoded body of a leaf part
    encoded: str | None  # the body as transferred (encoding layout)
    preamble: str | None = None
    epilogue: str | None = None
    parts: list[Part] = field(default_factory=list)


def unstuff(data: bytes) -> bytes:
    """Remove SMTP dot-stuffing (a leading "." on each line starting with one)."""
    return re.sub(rb"(?:^|(?<=\n))\.", b"", data)


def stuff(data: bytes) -> bytes:
    return re.sub(rb"(?:^|(?<=\n))\.", b"..", data)


def _boundaries(msg: email.message.Message) -> list[str]:
    found: list[str] = []
    for part in msg.walk():
        boundary = part.get_boundary() if part.is_multipart() else None
        if boundary and boundary not in found:
            found.append(boundary)
    return found


def parse_message(data: bytes, masker: Masker) -> Part:
    """Parse wire data (dot-stuffed) into a masked `Part` tree."""
    content = unstuff(data)
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    first = parser.parsebytes(content)
    for n, boundary in enumerate(_boundaries(first), 1):  # same placeholder in params and body
        content = content.replace(boundary.encode("latin-1", "replace"), f"BOUNDARY-{n}".encode())
    return _part(parser.parsebytes(content), masker)


def _part(msg: email.message.Message, masker: Masker) -> Part:
    headers = [(name, masker.header(name, str(value))) for name, value in msg.items()]
    params = [(k, masker.header(k, str(v))) for k, v in (msg.get_params() or [])[1:]]
    node = Part(headers=headers, content_type=msg.get_content_type(), params=params,
                defects=[type(d).__name__ for d in msg.defects], body=None, encoded=None)
    if msg.is_multipart():
        node.preamble, node.epilogue = msg.preamble, msg.epilogue
        node.parts = [_part(sub, masker) for sub in msg.get_payload()]
    else:
        payload = msg.get_payload()
        encoded = payload if isinstance(payload, str) else repr(payload)
        node.encoded = masker.body(encoded.encode("latin-1", "replace")).decode("latin-1")
        decoded = msg.get_payload(decode=True)
        node.body = masker.body(decoded) if isinstance(decoded, bytes) else None
    return node


# -- normalized outcome ------------------------------------------------------------------


@dataclass
class Normalized:
    exit: int | None
    stdout: str
    stderr: str
    commands: list[list[str]]
    envelope: list[tuple[str, list[str], list[str]]]
    messages: list[Part]


def normalize(outcome: Outcome, masker: Masker) -> Normalized:
    subs = outcome.substitutions
    return Normalized(
        exit=outcome.exit,
        stdout=masker.stream(outcome.stdout, subs),
        stderr=masker.stream(outcome.stderr, subs),
        commands=[[masker.command(c, subs) for c in s] for s in outcome.sessions],
        envelope=[(m.mail_from, list(m.rcpt_tos), [masker.text(o, subs) for o in m.mail_options])
                  for m in outcome.messages],
        messages=[parse_message(m.data, masker) for m in outcome.messages],
    )


# -- COMPAT expectations -------------------------------------------------------------------
# Each named transform turns tcllib's behaviour into the bridge's documented one.

_CTE_TWICE = re.compile(
    rb"(?m)^(Content-Transfer-Encoding: ([^\r\n]*)\r\n(?:(?!\r\n)[^\r\n]*\r\n)*?)"
    rb"Content-Transfer-Encoding: \2\r\n")
_BOUNDARY_TWICE = re.compile(
    rb"(boundary=\"([^\"\r\n]*)\")\r\n;\r\n[ \t]+boundary=\"\2\"")


def _cte_once(data: bytes) -> bytes:
    """tcllib writes Content-Transfer-Encoding before and after Content-Type; keep the first."""
    return _CTE_TWICE.sub(rb"\1", data)


def _boundary_once(data: bytes) -> bytes:
    """mime 1.7.0 repeats the boundary parameter on a ";" line; write it once."""
    return _BOUNDARY_TWICE.sub(rb"\1", data)


def _bare_cr(data: bytes) -> bytes:
    """Every bare CR and bare LF becomes CRLF; lines that now start with "." get stuffed."""
    content = unstuff(data)
    content = re.sub(rb"\r(?!\n)|(?<!\r)\n", b"\r\n", content)
    return stuff(content)


_DATA_TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "cte-once": _cte_once,
    "boundary-once": _boundary_once,
    "bare-cr": _bare_cr,
}


def _token_restored(norm: Normalized) -> None:
    """The caller's token is left unchanged, so every resend carries the first send's headers."""
    if not norm.messages:
        return
    first = norm.messages[0]
    for msg in norm.messages[1:]:
        if msg.content_type == first.content_type:
            msg.headers = list(first.headers)


_TREE_TRANSFORMS: dict[str, Callable[[Normalized], None]] = {"token-restored": _token_restored}

_DEBUG_SENT = re.compile(r"^--> (?P<text>.*?)(?P<wait> \(wait upto \d+ seconds\))?$")
_AUTH_INITIAL = re.compile(r"^(AUTH \S+) \S+$", re.IGNORECASE)


def _auth_hidden(text: str) -> str:
    """-debug transcript: each AUTH client payload (a line sent right after a 334
    reply) becomes "<hidden>", and "AUTH X <initial response>" "AUTH X <hidden>"."""
    out: list[str] = []
    after_334 = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        sent = _DEBUG_SENT.match(body)
        if sent:
            wait = sent.group("wait") or ""
            initial = _AUTH_INITIAL.match(sent.group("text"))
            if after_334:
                body = f"--> <hidden>{wait}"
            elif initial:
                body = f"--> {initial.group(1)} <hidden>{wait}"
        after_334 = body.startswith("<-- 334")
        out.append(body + end)
    return "".join(out)


_STREAM_TRANSFORMS: dict[str, Callable[[str], str]] = {"auth-hidden": _auth_hidden}


def apply_compat(outcome: Outcome, compat: Sequence[dict[str, Any]]) -> Outcome:
    """Outcome-level part of the COMPAT expectations (before masking).

    Each item: ``entry`` (a docs/COMPAT.md name; cte-once, boundary-once and
    bare-cr rewrite tcllib's DATA, token-restored its resent headers, auth-hidden
    the AUTH payloads in its stdout/stderr transcript) and optionally ``stdout``/
    ``stderr`` (the literal expected text), ``stdout_replace`` ([old, new]
    pairs), ``exit``, ``keep_sessions`` / ``keep_messages`` (indices of
    tcllib's sessions / messages the bridge should also produce), ``sessions``
    (the literal command lines of each session, "EHLO <CLIENT>" for the
    client's own name).
    """
    result = replace(outcome, sessions=[list(s) for s in outcome.sessions],
                     messages=list(outcome.messages))
    for item in compat:
        entry = item["entry"]
        if "keep_sessions" in item:
            result.sessions = [result.sessions[i] for i in item["keep_sessions"]
                               if i < len(result.sessions)]
        if "sessions" in item:
            result.sessions = [list(s) for s in item["sessions"]]
        if "keep_messages" in item:
            result.messages = [result.messages[i] for i in item["keep_messages"]
                               if i < len(result.messages)]
        transform = _DATA_TRANSFORMS.get(entry)
        if transform is not None:
            result.messages = [replace(m, data=transform(m.data)) for m in result.messages]
        for stream in ("stdout", "stderr"):
            stream_transform = _STREAM_TRANSFORMS.get(entry)
            if stream_transform is not None:
                setattr(result, stream, stream_transform(getattr(result, stream)))
            if stream in item:
                setattr(result, stream, item[stream])
            for old, new in item.get(f"{stream}_replace", []):
                setattr(result, stream, getattr(result, stream).replace(old, new))
        if "exit" in item:
            result.exit = item["exit"]
    return result


def apply_compat_tree(norm: Normalized, compat: Sequence[dict[str, Any]]) -> None:
    for item in compat:
        transform = _TREE_TRANSFORMS.get(item["entry"])
        if transform is not None:
            transform(norm)


# -- differences -----------------------------------------------------------------------------


def _show(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _seq_diff(aspect: str, where: str, expected: Sequence[str],
              actual: Sequence[str], unit: str) -> list[Difference]:
    """Plain-words differences between two sequences of lines."""
    out: list[Difference] = []
    matcher = difflib.SequenceMatcher(a=list(expected), b=list(actual), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        exp, act = list(expected[i1:i2]), list(actual[j1:j2])
        if op == "replace" and len(exp) == len(act):
            for k, (e, a) in enumerate(zip(exp, act, strict=True)):
                out.append(Difference(aspect, f"{where}{unit} {i1 + k + 1}", _show(e), _show(a)))
        elif op == "insert":
            out.append(Difference(aspect, f"{where}after {unit} {i1}", "nothing",
                                  "extra " + "; ".join(_show(a) for a in act)))
        elif op == "delete":
            out.append(Difference(aspect, f"{where}{unit} {i1 + 1}",
                                  "; ".join(_show(e) for e in exp), "nothing (missing)"))
        else:
            out.append(Difference(aspect, f"{where}{unit}s {i1 + 1}-{i2}",
                                  "; ".join(_show(e) for e in exp),
                                  "; ".join(_show(a) for a in act)))
    return out


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _part_diff(path: str, exp: Part, act: Part) -> list[Difference]:
    out = _seq_diff("messages", f"{path}: header ", [f"{n}: {v}" for n, v in exp.headers],
                    [f"{n}: {v}" for n, v in act.headers], "line")
    for label, e, a in (
        ("content type", exp.content_type, act.content_type),
        ("content-type params", exp.params, act.params),
        ("parse defects", exp.defects, act.defects),
        ("preamble", exp.preamble, act.preamble),
        ("epilogue", exp.epilogue, act.epilogue),
    ):
        if e != a:
            out.append(Difference("messages", f"{path}: {label}", _show(e), _show(a)))
    if exp.body != act.body:
        found = _seq_diff("messages", f"{path}: decoded body ",
                          _lines((exp.body or b"").decode("latin-1")),
                          _lines((act.body or b"").decode("latin-1")), "line")
        out += found or [Difference("messages", f"{path}: decoded body", _show(exp.body),
                                    _show(act.body))]
    elif exp.encoded != act.encoded:
        out += _seq_diff("messages", f"{path}: transfer-encoded body ",
                         _lines(exp.encoded or ""), _lines(act.encoded or ""), "line")
    if len(exp.parts) != len(act.parts):
        out.append(Difference("messages", f"{path}: number of subparts", str(len(exp.parts)),
                              str(len(act.parts))))
    for n, (e, a) in enumerate(zip(exp.parts, act.parts, strict=False), 1):
        out += _part_diff(f"{path}, part {n}", e, a)
    return out


def diff(expected: Normalized, actual: Normalized,
         aspects: Iterable[str] = DEFAULT_ASPECTS) -> list[Difference]:
    """All differences between two normalized outcomes, in the given aspects."""
    aspects = set(aspects)
    unknown = aspects - set(ASPECTS)
    if unknown:
        raise ValueError(f"unknown aspects: {sorted(unknown)}")
    out: list[Difference] = []
    if "exit" in aspects and expected.exit != actual.exit:
        out.append(Difference("exit", "exit code", _exit(expected.exit, expected.stderr),
                              _exit(actual.exit, actual.stderr)))
    for stream in ("stdout", "stderr"):
        if stream in aspects:
            out += _seq_diff(stream, "", _lines(getattr(expected, stream)),
                             _lines(getattr(actual, stream)), "line")
    if "commands" in aspects:
        if len(expected.commands) != len(actual.commands):
            out.append(Difference("commands", "number of SMTP sessions",
                                  str(len(expected.commands)), str(len(actual.commands))))
        for n, (e, a) in enumerate(zip(expected.commands, actual.commands, strict=False), 1):
            out += _seq_diff("commands", f"session {n}, ", e, a, "command")
    if "envelope" in aspects:
        if len(expected.envelope) != len(actual.envelope):
            out.append(Difference("envelope", "number of delivered messages",
                                  str(len(expected.envelope)), str(len(actual.envelope))))
        for n, (e, a) in enumerate(zip(expected.envelope, actual.envelope, strict=False), 1):
            for label, ev, av in zip(("MAIL FROM", "RCPT TO", "MAIL options"), e, a, strict=True):
                if ev != av:
                    out.append(Difference("envelope", f"message {n} {label}", _show(ev), _show(av)))
    if "messages" in aspects:
        if len(expected.messages) != len(actual.messages) and "envelope" not in aspects:
            out.append(Difference("messages", "number of delivered messages",
                                  str(len(expected.messages)), str(len(actual.messages))))
        for n, (e, a) in enumerate(zip(expected.messages, actual.messages, strict=False), 1):
            out += _part_diff(f"message {n}", e, a)
    return out


def _exit(code: int | None, stderr: str) -> str:
    """The exit code, with the last stderr line as a hint when it is not 0."""
    shown = "a timeout" if code is None else str(code)
    last = stderr.strip().splitlines()[-1:] if code != 0 else []
    return f"{shown} (stderr ends {_show(last[0])})" if last else shown


def compare(expected: Outcome, actual: Outcome, *, aspects: Iterable[str] = DEFAULT_ASPECTS,
            compat: Sequence[dict[str, Any]] = (),
            unmasked_headers: Iterable[str] = ()) -> list[Difference]:
    """Compare a tcllib run (`expected`) with a bridge run, honouring COMPAT entries."""
    masker = Masker(unmasked_headers=frozenset(h.lower() for h in unmasked_headers))
    exp = normalize(apply_compat(expected, compat), masker)
    apply_compat_tree(exp, compat)
    return diff(exp, normalize(actual, masker), aspects)
