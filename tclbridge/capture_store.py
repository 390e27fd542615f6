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
read rather than failing the list.
"""

from __future__ import annotations

import email.errors
import email.header
import email.parser
import email.policy
import json
import os
import re
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

    @property
    def policy_refused_any(self) -> bool:
        return bool(self.policy_refused) or self.eml is None

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
            return self.message.as_bytes()
        payload = self.message.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""

    def text(self) -> str:
        """The body as text, in its charset (bytes it cannot decode shown as �)."""
        charset = self.charset or "us-ascii"
        try:
            return self.content().decode(charset, "replace")
        except LookupError:  # an unknown charset name
            return self.content().decode("utf-8", "replace")

    def walk(self) -> Iterator[Part]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class CapturedMessage:
    entry: CaptureEntry
    raw: bytes
    headers: tuple[tuple[str, str], ...]  # in order, decoded for display
    tree: Part

    def parts(self) -> list[Part]:
        return list(self.tree.walk())

    def part(self, number: int) -> Part:
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


class CaptureDirectory:
    """The captures in `path`, read as they appear."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._entries: dict[str, CaptureEntry] = {}

    def entries(self) -> list[CaptureEntry]:
        """Every capture, by number. A .json still being written (captures
        are linked into place complete) or unreadable is left out."""
        try:
            names = [m.group(1) for p in os.scandir(self.path)
                     if (m := _NUMBERED_JSON.match(p.name))]
        except FileNotFoundError:
            return []
        for name in names:
            if name not in self._entries:
                entry = self._read_entry(name)
                if entry is not None:
                    self._entries[name] = entry
        return sorted((e for n, e in self._entries.items() if n in set(names)),
                      key=lambda e: (e.number, e.name))

    def entry(self, number: int) -> CaptureEntry:
        for entry in self.entries():
            if entry.number == number:
                return entry
        raise CaptureNotFound(f"no capture {number} in {self.path}")

    def message(self, number: int) -> CapturedMessage:
        entry = self.entry(number)
        if entry.eml is None:
            raise CaptureNotFound(
                f"capture {entry.name} has no message: the site policy kept it off the network")
        raw = entry.eml.read_bytes()
        parsed = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
        headers = tuple((name, display_header(value)) for name, value in parsed.items())
        return CapturedMessage(entry, raw, headers, _tree(parsed))

    def _read_entry(self, name: str) -> CaptureEntry | None:
        try:
            record = json.loads((self.path / f"{name}.json").read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict):
            return None
        eml_name = record.get("file")
        eml = self.path / eml_name if isinstance(eml_name, str) and "/" not in eml_name else None
        head = _head(eml) if eml is not None else {}
        tls = record.get("tls")
        return CaptureEntry(
            number=int(name), name=name, eml=eml,
            mail_from=str(record.get("mail_from", "")),
            rcpt_tos=tuple(str(r) for r in record.get("rcpt_tos") or ()),
            size=record.get("size") if isinstance(record.get("size"), int) else None,
            captured_at=record.get("captured_at"),
            subject=head.get("subject"), message_id=head.get("message-id"),
            tls=tls if isinstance(tls, dict) else None,
            policy=tuple(str(p) for p in record.get("policy") or ()),
            policy_refused=tuple(r for r in record.get("policy_refused") or ()
                                 if isinstance(r, dict)),
            record=record,
        )


def dialogue(record: dict[str, Any]) -> list[DialogueLine]:
    """The SMTP dialogue of a capture's .json: the greeting, then each
    client command with the reply to it, then the message and the reply to
    its end. AUTH payloads were hidden when the capture was written."""
    commands = [str(c) for c in record.get("commands") or ()]
    replies = [str(r) for r in record.get("replies") or ()]
    lines: list[DialogueLine] = []
    if replies:
        lines.append(DialogueLine("server", replies.pop(0)))
    for command in commands:
        lines.append(DialogueLine("client", command))
        if replies:
            lines.append(DialogueLine("server", replies.pop(0)))
    if record.get("file") and commands:
        size = record.get("size")
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
        with open(eml, "rb") as file:
            data = file.read(HEAD_LIMIT)
    except OSError:
        return {}
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[: end + 2]
    parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    found: dict[str, str] = {}
    for name in ("subject", "message-id"):
        value = parsed.get(name)
        if value is not None:
            found[name] = display_header(str(value))
    return found


def _tree(message: Message) -> Part:
    counter = iter(range(1, 1 << 62))

    def build(node: Message, index: str) -> Part:
        number = next(counter)
        children: list[Part] = []
        if node.is_multipart():
            payload = node.get_payload()
            for i, child in enumerate(payload if isinstance(payload, list) else (), start=1):
                children.append(build(child, f"{index}.{i}"))
        disposition = node.get_content_disposition()
        filename = node.get_filename()
        return Part(number, index, node.get_content_type(),
                    display_header(filename) if filename else None, disposition,
                    node.get_content_charset(), tuple(children), node)

    return build(message, "1")
