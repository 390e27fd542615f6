"""`tclbridge capture list DIR` and `tclbridge capture show DIR N`: the
captures of a `run --capture DIR` as text for a terminal (or an ssh session
without a browser), or as JSON for tools. Everything shown comes from a
script or a client, so every line of text goes through
tclbridge.printable; `--raw` and `--part K` write bytes, exactly, for a
file or a pipe."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from tclbridge.capture import readable_size
from tclbridge.capture_store import (
    CaptureDirectory,
    CapturedMessage,
    CaptureEntry,
    CaptureNotFound,
    Part,
    TooDeep,
    dialogue,
)
from tclbridge.printable import printable

_NOT_SENT = "not sent: the site policy refused every recipient"
_NO_FILE = "no message file: its .json names none of its own"


class _Refusal(Exception):
    """A request that cannot be answered: exit 2 with this message."""


def main(opts: argparse.Namespace) -> int:
    """0: shown; 2: no such DIR, capture or part (a message on stderr)."""
    command = f"tclbridge capture {opts.action}"
    try:
        directory = _directory(opts.dir)
        if opts.action == "list":
            return _list(directory, opts)
        return _show(directory, opts)
    except _Refusal as refusal:
        sys.stdout.flush()
        sys.stderr.write(printable(f"{command}: {refusal}") + "\n")
        return 2


def _directory(path: str) -> CaptureDirectory:
    where = Path(path)
    if not where.exists():
        raise _Refusal(f"no such directory: {path}")
    if not where.is_dir():
        raise _Refusal(f"not a directory: {path}")
    return CaptureDirectory(where)


# -- list -----------------------------------------------------------------------------


def _list(directory: CaptureDirectory, opts: argparse.Namespace) -> int:
    entries = directory.entries()
    if opts.search is not None:
        entries = [e for e in entries if e.matches(opts.search)]
    if opts.json:
        print(json.dumps([e.to_json() for e in entries], indent=1))
        return 0
    if not entries:
        what = "no captures" if opts.search is None else f"no capture matches {opts.search!r}"
        print(printable(f"{what} in {directory.path}"))
        return 0
    for entry in entries:
        print(list_line(entry))
    return 0


def list_line(entry: CaptureEntry) -> str:
    """NNNN, when, how big, TLS or plain, from and to whom, the Subject, and
    what the site policy refused."""
    to = ", ".join(f"<{r}>" for r in entry.rcpt_tos) or "nobody"
    size = readable_size(entry.size) if entry.size is not None else "-"
    how = "-" if entry.eml is None else ("TLS" if entry.tls else "plain")
    line = f"{entry.name}  {_when(entry.captured_at)}  {size:>10}  {how:<5}  " \
           f"from <{entry.mail_from}> to {to}"
    if entry.eml is not None:
        line += f"  Subject: {entry.subject}" if entry.subject is not None else "  (no Subject)"
    if entry.unsent:
        line += f"  [{_NOT_SENT}]"
    elif entry.eml is None:
        line += f"  [{_NO_FILE}]"
    elif entry.policy_refused:
        count = len(entry.policy_refused)
        line += f"  [policy refused {count} recipient{'s' if count != 1 else ''}]"
    return printable(line)


def _when(captured_at: str | None) -> str:
    """The capture's time as "YYYY-MM-DD HH:MM:SS" (local time where it was
    captured), or as written if that is not a time."""
    if not captured_at:
        return "-" * 19
    try:
        return datetime.fromisoformat(captured_at).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return captured_at


# -- show -----------------------------------------------------------------------------


def _show(directory: CaptureDirectory, opts: argparse.Namespace) -> int:
    if opts.json and (opts.raw or opts.part is not None):
        raise _Refusal("--json goes with the summary or --dialogue, not --raw or --part")
    try:
        entry = directory.entry(opts.number)
    except CaptureNotFound:
        raise _Refusal(f"no capture {opts.number} in {directory.path}"
                       f" (`tclbridge capture list {directory.path}` lists them)") from None
    if opts.dialogue:
        lines = dialogue(entry.record)
        if opts.json:
            print(json.dumps([{"sender": d.sender, "text": d.text} for d in lines], indent=1))
        elif not lines:
            print(f"capture {entry.name} has no SMTP dialogue (nothing was sent)")
        for said in lines if not opts.json else ():
            prefix = "C: " if said.sender == "client" else "S: "
            for text in said.text.splitlines() or [""]:
                print(printable(prefix + text))
        return 0
    message = _message(directory, entry) if entry.eml is not None or opts.raw \
        or opts.part is not None else None
    if opts.raw:
        assert message is not None
        _write_bytes(message.raw)
        return 0
    if opts.part is not None:
        assert message is not None
        _write_bytes(_part_bytes(message, opts.part))
        return 0
    if opts.json:
        print(json.dumps(show_json(entry, message), indent=1))
        return 0
    for line in show_lines(entry, message):
        print(line)
    return 0


def _message(directory: CaptureDirectory, entry: CaptureEntry) -> CapturedMessage:
    try:
        return directory.message(entry.number)
    except CaptureNotFound as exc:
        raise _Refusal(str(exc)) from None


def _part_bytes(message: CapturedMessage, number: int) -> bytes:
    try:
        part = message.part(number)
    except KeyError:
        count = len(message.parts())
        raise _Refusal(f"no part {number} in capture {message.entry.name}: its parts are "
                       f"1 to {count} (`tclbridge capture show` lists them)") from None
    try:
        return part.content()
    except TooDeep as exc:
        raise _Refusal(str(exc)) from None


def _write_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def show_lines(entry: CaptureEntry, message: CapturedMessage | None) -> list[str]:
    """The envelope, the headers, the MIME tree and the text parts, as lines
    safe to print."""
    lines = [f"capture {entry.name}" + (f" ({entry.eml.name})" if entry.eml
                                        else f": {_NOT_SENT if entry.unsent else _NO_FILE}")]
    lines += [f"  {label + ':':<18} {value}" for label, value in _envelope(entry)]
    if message is None:
        return [printable(line) for line in lines]
    if message.note:
        lines += ["", f"note: {message.note}"]
    lines += ["", "headers:"]
    lines += [f"  {name}: {value}" for name, value in message.headers]
    lines += ["", "MIME parts (capture show --part K writes part K):"]
    parts = message.parts()
    width = max(len(p.index) for p in parts)
    for part in parts:
        lines.append(f"  {part.number:>3}  {part.index:<{width}}  {_describe(part)}")
    for part in parts:
        if _is_text(part):
            lines += ["", f"text of part {part.number} ({part.content_type}):"]
            lines += [f"  {line.expandtabs()}" for line in part.text().splitlines()]
    return [printable(line) for line in lines]


def _envelope(entry: CaptureEntry) -> list[tuple[str, str]]:
    rows = [("from", f"<{entry.mail_from}>"),
            ("to", ", ".join(f"<{r}>" for r in entry.rcpt_tos) or "nobody")]
    if entry.size is not None:
        rows.append(("size", f"{readable_size(entry.size)} ({entry.size} bytes)"))
    rows.append(("captured at", entry.captured_at or "unknown"))
    if entry.eml is not None:
        tls = entry.tls
        rows.append(("TLS", ", ".join(v for v in (tls.get("mode"), tls.get("version"),
                                                 tls.get("cipher")) if v)
                     if tls else "no (plain text)"))
    if entry.requested_servers:
        rows.append(("servers asked for", ", ".join(entry.requested_servers)))
    rows += [("policy", decision) for decision in entry.policy]
    rows += [("policy refused", f"<{r['recipient']}>: {r['reason']}")
             for r in entry.policy_refused]
    return rows


def _describe(part: Part) -> str:
    words = [part.content_type]
    if part.charset:
        words.append(f"charset={part.charset}")
    if part.disposition:
        words.append(part.disposition)
    if part.filename is not None:
        words.append(f"filename {json.dumps(part.filename, ensure_ascii=False)}")
    if not part.is_multipart:
        words.append(readable_size(len(part.content())))
    return ", ".join(words)


def _is_text(part: Part) -> bool:
    return (part.content_type == "text/plain" and not part.is_multipart
            and part.disposition != "attachment")


def show_json(entry: CaptureEntry, message: CapturedMessage | None) -> dict[str, Any]:
    """The summary of `capture show --json`: the list's entry, the headers and
    the MIME tree as a flat list in `--part` order (each part names its
    parent, so no depth makes the JSON deep)."""
    result: dict[str, Any] = {"capture": entry.to_json(), "headers": [], "parts": [],
                              "note": None}
    if message is None:
        return result
    result["headers"] = [[name, value] for name, value in message.headers]
    result["note"] = message.note
    for part in message.parts():
        parent = part.index.rpartition(".")[0] or None
        result["parts"].append({
            "number": part.number, "index": part.index, "parent": parent,
            "content_type": part.content_type, "charset": part.charset,
            "disposition": part.disposition, "filename": part.filename,
            "size": None if part.is_multipart else len(part.content()),
            "text": part.text() if _is_text(part) else None,
        })
    return result
