"""Capture mode for ``tclbridge run --capture DIR``: deliver mail into files.

A `RecordingServer` on 127.0.0.1 accepts everything (any AUTH PLAIN/LOGIN
credentials too). Each accepted message is saved at once, so a later crash
cannot lose it, as ``DIR/NNNN.eml`` (the message as delivered: dot-stuffing
removed, CRLF line endings) and ``DIR/NNNN.json`` (envelope, plus the session's
client commands and server replies up to the 250 for this message, AUTH
payloads hidden). Numbering continues after the numbered files already in DIR.
With a site policy, each .json also lists the policy's decisions for the
session ("policy"), and a send the policy kept off the network entirely (every
recipient refused) gets a ``DIR/NNNN.json`` of its own with "file": null.
`summary_lines()` gives one line per message for the CLI to print to stderr.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from tclbridge.policy import PolicyJournal
from tclbridge.recorder import Message, RecordingServer, ServerScript

_NUMBERED = re.compile(r"^(\d+)\.(?:eml|json)$")


@dataclass(frozen=True)
class Captured:
    path: Path  # the .eml file
    mail_from: str
    rcpt_tos: tuple[str, ...]
    size: int
    subject: str | None


class Capture:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        host: str = "127.0.0.1",
        policy_journal: PolicyJournal | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.captured: list[Captured] = []
        self.unsent: list[Path] = []
        self._journal = policy_journal
        if policy_journal is not None:
            policy_journal.on_unsent = self._save_unsent
        # Offer AUTH too, so scripts with -username take their usual path.
        script = ServerScript(capabilities=["AUTH PLAIN LOGIN"])
        self._server = RecordingServer(script, host, on_message=self._save)
        self._lock = threading.Lock()

    def start(self) -> tuple[str, int]:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._server.start()
        return self._server.host, self._server.port

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Capture:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.directory.iterdir()
                   if (m := _NUMBERED.match(p.name))]
        return max(numbers, default=0) + 1

    def _save(self, message: Message) -> None:
        """Called in the server thread before the client gets its 250."""
        content = message.content
        session = self._server.sessions[message.session]
        with self._lock:
            eml = self._claim(content)
            record = {
                "file": eml.name,
                "mail_from": message.mail_from,
                "rcpt_tos": message.rcpt_tos,
                "mail_options": message.mail_options,
                "peer": session.peer,
                "commands": list(session.commands),
                "replies": list(session.replies),
            }
            if self._journal is not None:
                record["policy"] = self._journal.for_peer(session.peer) or []
            _write_new(eml.with_suffix(".json"), json.dumps(record, indent=1).encode())
            self.captured.append(Captured(
                eml, message.mail_from, tuple(message.rcpt_tos), len(content), _subject(content)))

    def _save_unsent(self, mail_from: str, decisions: list[dict[str, str]]) -> None:
        record = {"file": None, "mail_from": mail_from, "rcpt_tos": [], "policy": decisions}
        with self._lock:
            self.unsent.append(self._claim(json.dumps(record, indent=1).encode(), ".json"))

    def _claim(self, content: bytes, suffix: str = ".eml") -> Path:
        # Never overwrite: another run may share DIR, so retry on a taken number.
        number = self._next_number()
        while True:
            path = self.directory / f"{number:04d}{suffix}"
            try:
                _write_new(path, content)
                return path
            except FileExistsError:
                number += 1

    def summary_lines(self) -> list[str]:
        with self._lock:
            captured = list(self.captured)
            unsent = list(self.unsent)
        lines = []
        for c in captured:
            to = ", ".join(f"<{r}>" for r in c.rcpt_tos)
            line = f"captured {c.path.name}: from <{c.mail_from}> to {to}, {c.size} bytes"
            if c.subject is not None:
                line += f", Subject: {c.subject}"
            lines.append(line)
        lines += [f"not sent {p.name}: the site policy refused every recipient"
                  for p in unsent]
        return lines


def _write_new(path: Path, data: bytes) -> None:
    """Write `path` completely or not at all, failing if it already exists."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)  # atomic, and refuses to replace an existing file
    finally:
        tmp.unlink()


# How much of a Subject is decoded for the summary line: the standard
# library's structured header parser is quadratic in a value's length (a
# 400 KB Subject took a minute); reading the raw headers is linear.
_SUBJECT_DECODED = 4096


def _subject(content: bytes) -> str | None:
    policy = email.policy.default
    try:
        headers = email.parser.BytesHeaderParser(policy=policy).parsebytes(content)
        raw = next((v for k, v in headers.raw_items() if k.lower() == "subject"), None)
        if raw is None:
            return None
        subject = policy.header_fetch_parse("Subject", raw[:_SUBJECT_DECODED])
    except Exception:  # a malformed header must not lose the capture
        return None
    return " ".join(str(subject).split())
