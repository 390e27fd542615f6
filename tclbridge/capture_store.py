"""Reading a capture directory (what `tclbridge run --capture DIR` wrote):
the list of captures and, for one of them, its headers, MIME tree, parts,
raw source and SMTP dialogue. `tclbridge capture list/show` and the web
viewer (`tclbridge capture serve`) both read captures through this module
only; it writes nothing.

A capture is `NNNN.json` (the envelope and the session, written by
tclbridge.capture) with its `NNNN.eml`, or a `.json` alone ("file": null)
for a send the site policy kept off the network. Captures are never changed
once written, so what was read of one is kept (`CaptureDirectory` reads each
file once, however often the list is asked for). Every value here comes from
a script or a client, so reading is bounded: a header is decoded from its
first `HEADER_DECODED` characters (the standard library's structured header
parser is quadratic in a value's length), the head read for the list stops
at `HEAD_LIMIT` bytes, and a malformed file is listed with what could be
read rather than failing the list. Files are opened only by their own names
inside DIR (a .json's "file" must be its own NNNN.eml), never through a
symbolic link, and only if regular (a FIFO would block the reader). The MIME
tree is built and walked without recursion; a message nested deeper than
the standard library's parser can follow (it recurses once per level and
fails near Python's recursion limit, about 990 levels) is shown as one part
with a note saying so.
"""

from __future__ import annotations

import email.errors
import email.header
import email.parser
import email.policy
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

HEAD_LIMIT = 262144  # bytes of a message read for its list entry (Subject, Message-ID)
HEADER_DECODED = 4096  # characters of a header value decoded for display
_NUMBERED_JSON = re.compile(r"^(\d+)\.json$")


@dataclass(frozen=True)
class CaptureEntry:
    """One line of the list: what the .json says, and the Subject."""

    number: int  # NNNN
    name: str  # "NNNN" as written (leading zeros kept)
    eml: Path | None  # None: the site policy kept it off the network
    mail_from: str
    rcpt_tos: tuple[str, ...]
    size: int | None
    captured_at: str | None  # ISO 8601, local time with its offset
    subject: str | None
    message_id: str | None
    tls: dict[str, str] | None  # {"mode", "version", "cipher"}, None: plain text
    policy: tuple[str, ...]  # the site policy's decisions, if one was in force
    policy_refused: tuple[dict[str, str], ...]  # [{"recipient", "reason"}]
    record: dict[str, Any] = field(repr=False, compare=False)  # the whole .json
    requested_servers: tuple[str, ...] = ()  # the servers the script asked for

    @property
    def policy_refused_any(self) -> bool:
        return bool(self.policy_refused) or self.unsent

    @property
    def unsent(self) -> bool:
        """The site policy kept the send off the network ("file": null); a
        .json naming a file that is not its own has no message either, but
        is not that."""
        return self.eml is None and self.record.get("file") is None

    def matches(self, query: str) -> bool:
        """Search: `query` (case-insensitive) in the sender, a recipient or
        the Subject."""
        needle = query.casefold()
        fields = [self.mail_from, *self.rcpt_tos, self.subject or ""]
        return any(needle in value.casefold() for value in fields)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "name": self.name,
            "file": self.eml.name if self.eml is not None else None,
            "mail_from": self.mail_from, "rcpt_tos": list(self.rcpt_tos), "size": self.size,
            "captured_at": self.captured_at, "subject": self.subject,
            "message_id": self.message_id, "tls": self.tls, "policy": list(self.policy),
            "policy_refused": [dict(r) for r in self.policy_refused],
            "requested_servers": list(self.requested_servers),
        }


@dataclass(frozen=True)
class Part:
    """One node of a message's MIME tree. `index` is its place, "1", "1.2",
    ... (the message itself is "1"); `number` its place in depth-first order,
    from 1, as `capture show --part K` takes it."""

    number: int
    index: str
    content_type: str
    filename: str | None
    disposition: str | None  # "attachment", "inline" or None
    charset: str | None
    children: tuple[Part, ...]
    message: Message = field(repr=False, compare=False)

    @property
    def is_multipart(self) -> bool:
        return bool(self.children) or self.message.is_multipart()

    def content(self) -> bytes:
        """The part's body, transfer encoding undone (a multipart: its raw body)."""
        if self.message.is_multipart():
            try:
                return self.message.as_bytes()
            except RecursionError:  # the generator recurses once per level
                raise TooDeep(f"part {self.number} is nested too deeply to write out") from None
        payload = self.message.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""

    def text(self) -> str:
        """The body as text, in its charset (bytes it cannot decode shown as �)."""
        charset = self.charset or "us-ascii"
        try:
            return self.content().decode(charset, "replace")
        # An unknown charset name, or a codec that is not one: idna and
        # undefined (punycode before Python 3.13) raise rather than replace.
        except (LookupError, UnicodeError):
            return self.content().decode("utf-8", "replace")

    def walk(self) -> Iterator[Part]:
        """This part and the parts under it, depth first (without recursion:
        a tree may be hundreds of levels deep)."""
        stack = [self]
        while stack:
            part = stack.pop()
            yield part
            stack.extend(reversed(part.children))


@dataclass(frozen=True)
class CapturedMessage:
    entry: CaptureEntry
    raw: bytes
    headers: tuple[tuple[str, str], ...]  # in order, decoded for display
    tree: Part
    note: str | None = None  # why the tree is not the whole message's, if it is not

    def parts(self) -> list[Part]:
        return list(self.tree.walk())

    def part(self, number: int) -> Part:
        """Part `number` (1: the message itself); KeyError if there is none."""
        if number >= 1:
            for part in self.tree.walk():
                if part.number == number:
                    return part
        raise KeyError(number)


@dataclass(frozen=True)
class DialogueLine:
    sender: str  # "client" or "server"
    text: str


class CaptureNotFound(LookupError):
    pass


class TooDeep(ValueError):
    """A MIME structure nested deeper than the standard library can follow."""


class CaptureDirectory:
    """The captures in `path`, read as they appear."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._entries: dict[str, CaptureEntry] = {}

    def entries(self) -> list[CaptureEntry]:
        """Every capture, by number. A .json still being written (captures
        are linked into place complete) or unreadable is left out."""
        try:
            with os.scandir(self.path) as listing:
                names = {m.group(1) for p in listing if (m := _NUMBERED_JSON.match(p.name))}
        except (FileNotFoundError, NotADirectoryError):
            return []
        for name in names:
            if name not in self._entries:
                entry = self._read_entry(name)
                if entry is not None:
                    self._entries[name] = entry
        return sorted((e for n, e in self._entries.items() if n in names),
                      key=lambda e: (e.number, e.name))

    def entry(self, number: int) -> CaptureEntry:
        for entry in self.entries():
            if entry.number == number:
                return entry
        raise CaptureNotFound(f"no capture {number} in {self.path}")

    def message(self, number: int) -> CapturedMessage:
        entry = self.entry(number)
        if entry.eml is None:
            why = ("the site policy kept it off the network" if entry.unsent
                   else f"its .json names no file but {entry.name}.eml")
            raise CaptureNotFound(f"capture {entry.name} has no message: {why}")
        try:
            raw = _read_regular(entry.eml)
        except OSError as exc:
            raise CaptureNotFound(f"cannot read {entry.eml.name}: "
                                  f"{exc.strerror or exc}") from None
        note = None
        try:
            parsed = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
        except RecursionError:  # the parser recurses once per multipart level
            parsed = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
                raw, headersonly=True)
            note = ("the MIME structure is nested too deeply to take apart; "
                    "the message is shown as one part")
        headers = tuple((name, display_header(_undo_escapes(value)))
                        for name, value in parsed.raw_items())
        return CapturedMessage(entry, raw, headers, _tree(parsed), note)

    def _read_entry(self, name: str) -> CaptureEntry | None:
        try:
            record = json.loads(_read_regular(self.path / f"{name}.json"))
        except (OSError, ValueError, RecursionError):  # RecursionError: [[[[... nested
            return None
        if not isinstance(record, dict):
            return None
        # A capture's message is its own NNNN.eml: no other name is read
        # (not "../x", not an absolute path, not another capture's file).
        eml = self.path / f"{name}.eml" if record.get("file") == f"{name}.eml" else None
        head = _head(eml) if eml is not None else {}
        tls = record.get("tls")
        size = record.get("size")
        return CaptureEntry(
            number=int(name), name=name, eml=eml,
            mail_from=_text(record.get("mail_from")),
            rcpt_tos=_texts(record.get("rcpt_tos")),
            size=size if type(size) is int and size >= 0 else None,
            captured_at=_text(record.get("captured_at")) or None,
            subject=head.get("subject"), message_id=head.get("message-id"),
            tls=({str(k): _text(v) for k, v in tls.items()} if isinstance(tls, dict) else None),
            policy=tuple(_decision(p) for p in _list(record.get("policy"))),
            policy_refused=tuple(
                {"recipient": _text(r.get("recipient")), "reason": _text(r.get("reason"))}
                for r in _list(record.get("policy_refused")) if isinstance(r, dict)),
            record=record,
            requested_servers=_texts(record.get("requested_servers")),
        )


def dialogue(record: dict[str, Any]) -> list[DialogueLine]:
    """The SMTP dialogue of a capture's .json: the greeting, then each
    client command with the reply to it, then the message and the reply to
    its end. AUTH payloads were hidden when the capture was written."""
    commands = list(_texts(record.get("commands")))
    replies = list(_texts(record.get("replies")))
    lines: list[DialogueLine] = []
    if replies:
        lines.append(DialogueLine("server", replies.pop(0)))
    for command in commands:
        lines.append(DialogueLine("client", command))
        if replies:
            lines.append(DialogueLine("server", replies.pop(0)))
    if record.get("file") and commands:
        size = record.get("size") if type(record.get("size")) is int else None
        lines.append(DialogueLine("client", f"<the message, {size} bytes>" if size is not None
                                  else "<the message>"))
    lines.extend(DialogueLine("server", r) for r in replies)
    return lines


def display_header(value: str) -> str:
    """A raw header value decoded for display: encoded-words decoded, folding
    undone, at most `HEADER_DECODED` characters (the rest marked)."""
    clipped = value[:HEADER_DECODED]
    try:
        decoded = str(email.header.make_header(email.header.decode_header(clipped)))
    except (ValueError, LookupError, email.errors.HeaderParseError):
        decoded = clipped
    text = " ".join(decoded.split())
    return text + (" …" if len(value) > HEADER_DECODED else "")


def _head(eml: Path) -> dict[str, str]:
    """Subject and Message-ID from the start of the message."""
    try:
        data = _read_regular(eml, HEAD_LIMIT)
    except OSError:
        return {}
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[: end + 2]
    parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    found: dict[str, str] = {}
    for name, value in parsed.raw_items():
        key = name.lower()
        if key in ("subject", "message-id") and key not in found:
            found[key] = display_header(_undo_escapes(value))
    return found


def _read_regular(path: Path, limit: int = -1) -> bytes:
    """The first `limit` bytes (-1: all) of `path`, a regular file reached
    without a symbolic link (OSError otherwise, and for a FIFO or a device,
    without blocking on it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path.name} is not a regular file")
        return file.read(limit)


def _undo_escapes(value: str) -> str:
    """A raw header value as read from bytes (8-bit bytes as surrogate
    escapes) taken as UTF-8, as an SMTPUTF8 message's are; bytes that are
    not UTF-8 shown as U+FFFD."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _text(value: object) -> str:
    """A .json field shown as text: a string as it is, None as "", anything
    else (a hostile or damaged file) as its JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _texts(value: object) -> tuple[str, ...]:
    return tuple(_text(v) for v in _list(value))


def _decision(value: object) -> str:
    """One of the site policy's decisions ({"rule", "decision"}) as "rule: decision"."""
    if isinstance(value, dict) and "decision" in value:
        rule = value.get("rule")
        return f"{_text(rule)}: {_text(value['decision'])}" if rule else _text(value["decision"])
    return _text(value)


def _tree(message: Message) -> Part:
    """The MIME tree under `message`, numbered depth first, built without
    recursion: nodes are listed in order first, then each Part is made after
    its children."""
    order: list[tuple[Message, str, int | None]] = []  # (node, index, parent's place)
    stack: list[tuple[Message, str, int | None]] = [(message, "1", None)]
    while stack:
        node, index, parent = stack.pop()
        place = len(order)
        order.append((node, index, parent))
        payload = node.get_payload() if node.is_multipart() else None
        children = payload if isinstance(payload, list) else []
        stack.extend(reversed([(child, f"{index}.{i}", place)
                               for i, child in enumerate(children, start=1)
                               if isinstance(child, Message)]))
    kids: list[list[Part]] = [[] for _ in order]
    parts: list[Part | None] = [None] * len(order)
    for place in range(len(order) - 1, -1, -1):
        node, index, parent = order[place]
        filename = _filename(node)
        part = Part(place + 1, index, node.get_content_type(), filename,
                    node.get_content_disposition(), _charset(node),
                    tuple(reversed(kids[place])), node)
        parts[place] = part
        if parent is not None:
            kids[parent].append(part)
    assert parts[0] is not None
    return parts[0]


def _filename(node: Message) -> str | None:
    try:
        filename = node.get_filename()
    except (ValueError, LookupError, TypeError):  # a malformed RFC 2231 parameter
        return None
    return display_header(_undo_escapes(filename)) if isinstance(filename, str) and filename \
        else None


def _charset(node: Message) -> str | None:
    try:
        charset = node.get_content_charset()
    except (ValueError, LookupError, TypeError):
        return None
    return charset if isinstance(charset, str) else None
