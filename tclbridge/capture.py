"""Capture mode for ``tclbridge run --capture DIR``: deliver mail into files.

A `RecordingServer` on 127.0.0.1 accepts everything (any AUTH PLAIN/LOGIN
credentials too), of any size unless ``max_size`` is given (advertised as
SIZE; a message above it gets a 552). It offers STARTTLS, and implicit TLS
on a second port for -tlsimport 1, with a certificate from a CA made at
start (tclbridge.throwaway_ca) that the bridge is told to trust
(`Capture.endpoint`). Each message is streamed to a temp file
in DIR as it arrives (memory stays flat whatever its size), and saved before
the client gets its 250, so a later crash cannot lose it, as ``DIR/NNNN.eml``
(the message as delivered: dot-stuffing removed, CRLF line endings; linked
into place complete, never partial) and ``DIR/NNNN.json`` (envelope, plus the session's
client commands and server replies up to the 250 for this message, AUTH
payloads hidden, and "tls": how the message came, or null for plain text).
Numbering continues after the numbered files already in DIR.
With a site policy, each .json also lists the policy's decisions for the
session ("policy"), and a send the policy kept off the network entirely (every
recipient refused) gets a ``DIR/NNNN.json`` of its own with "file": null.
`summary_lines()` gives one line per message for the CLI to print to stderr.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tclbridge.policy import PolicyJournal
from tclbridge.recorder import Delivery, RecordingServer, ServerScript, TlsUse, Unstuffer
from tclbridge.sandbox import CaptureEndpoint

_NUMBERED = re.compile(r"^(\d+)\.(?:eml|json)$")
HEAD_LIMIT = 262144  # bytes of a message kept in memory to read its Subject from
_spool_numbers = itertools.count(1)


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
        max_size: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.captured: list[Captured] = []
        self.unsent: list[Path] = []
        self._journal = policy_journal
        if policy_journal is not None:
            policy_journal.on_unsent = self._save_unsent
        if max_size is not None and max_size < 1:
            raise ValueError(f"max_size must be at least 1, not {max_size}")
        # Offer AUTH too, so scripts with -username take their usual path, and
        # SMTPUTF8 as a modern relay does (non-ASCII local parts need it).
        # "SIZE" without a number: clients still declare sizes, and no limit is set.
        size = "SIZE" if max_size is None else f"SIZE {max_size}"
        self._script = ServerScript(
            capabilities=["AUTH PLAIN LOGIN", "SMTPUTF8", size, "STARTTLS"])
        self._host = host
        self._server: RecordingServer | None = None
        self._ca_directory: Path | None = None
        self.endpoint: CaptureEndpoint | None = None  # once started
        self._lock = threading.Lock()

    def start(self) -> tuple[str, int]:
        """Start the server; its plain SMTP address (see `endpoint` for the rest)."""
        from tclbridge import throwaway_ca

        self.directory.mkdir(parents=True, exist_ok=True)
        # The CA certificate lives outside DIR, which holds only captures.
        self._ca_directory = Path(tempfile.mkdtemp(prefix="tclbridge_capture_ca_"))
        ca = throwaway_ca.make(self._ca_directory)
        self._server = RecordingServer(
            self._script, self._host, tls_context=ca.server_context, implicit_tls_listener=True,
            data_sink=lambda: _Spool(self))
        try:
            self._server.start()
        except BaseException:
            self.stop()
            raise
        server = (self._server.host, self._server.port)
        assert self._server.implicit_tls_port is not None
        self.endpoint = CaptureEndpoint(server, (self._server.host, self._server.implicit_tls_port),
                                        str(ca.cafile))
        return server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._ca_directory is not None:
            shutil.rmtree(self._ca_directory, ignore_errors=True)

    def __enter__(self) -> Capture:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.directory.iterdir()
                   if (m := _NUMBERED.match(p.name))]
        return max(numbers, default=0) + 1

    def _save(self, spool: _Spool, delivery: Delivery) -> None:
        """Called in the server thread before the client gets its 250."""
        assert self._server is not None
        session = self._server.sessions[delivery.session]
        with self._lock:
            eml = self._claim(lambda path: os.link(spool.path, path))
            try:
                record = {
                    "file": eml.name,
                    "mail_from": delivery.mail_from,
                    "rcpt_tos": delivery.rcpt_tos,
                    "mail_options": delivery.mail_options,
                    "peer": session.peer,
                    "commands": list(session.commands),
                    "replies": list(session.replies),
                    "tls": _tls_record(delivery.tls),
                }
                if self._journal is not None:
                    record["policy"] = self._journal.for_peer(session.peer) or []
                _write_new(eml.with_suffix(".json"), json.dumps(record, indent=1).encode())
            except BaseException:
                eml.unlink()  # the client gets a 451: leave no half of a capture
                raise
            self.captured.append(Captured(
                eml, delivery.mail_from, tuple(delivery.rcpt_tos), spool.size,
                _subject(bytes(spool.head))))

    def _save_unsent(self, mail_from: str, decisions: list[dict[str, str]]) -> None:
        record = {"file": None, "mail_from": mail_from, "rcpt_tos": [], "policy": decisions}
        data = json.dumps(record, indent=1).encode()
        with self._lock:
            self.unsent.append(self._claim(lambda path: _write_new(path, data), ".json"))

    def _claim(self, place: Callable[[Path], None], suffix: str = ".eml") -> Path:
        """The next free NNNN`suffix`, made by `place` (which fails with
        FileExistsError if it is taken: another run may share DIR)."""
        number = self._next_number()
        while True:
            path = self.directory / f"{number:04d}{suffix}"
            try:
                place(path)
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


class _Spool:
    """One message on its way into DIR (a `DataSink`): unstuffed into a temp
    file as it arrives, linked to its number once complete."""

    def __init__(self, capture: Capture) -> None:
        self._capture = capture
        self.path = capture.directory / f".incoming.{os.getpid()}.{next(_spool_numbers)}.tmp"
        self._file = open(self.path, "xb")  # noqa: SIM115 - closed by finish/discard
        self._unstuff = Unstuffer()
        self.size = 0
        self.head = bytearray()  # the start of the message, up to its blank line
        self._head_done = False

    def write(self, data: bytes) -> None:
        content = self._unstuff.feed(data)
        self._file.write(content)
        self.size += len(content)
        if not self._head_done:
            start = max(0, len(self.head) - 3)
            self.head += content[: HEAD_LIMIT - len(self.head)]
            self._head_done = (len(self.head) >= HEAD_LIMIT
                               or self.head.find(b"\r\n\r\n", start) != -1)

    def finish(self, delivery: Delivery) -> None:
        try:
            self._file.close()
            self._capture._save(self, delivery)
        finally:
            self.discard()

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def _tls_record(tls: TlsUse | None) -> dict[str, str] | None:
    if tls is None:
        return None
    return {"mode": tls.mode, "version": tls.version, "cipher": tls.cipher}


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
