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
payloads hidden, and "tls": how the message came, or null for plain text;
when it was saved, its size). Numbering continues after the numbered files
already in DIR. A connection the bridge's smtp made has a record in the
`journal` (tclbridge.journal): the .json then also gives the servers the
script asked for and, under a site policy, the policy's decisions ("policy")
and the recipients it refused; a send the policy kept off the network
entirely (every recipient refused) gets a ``DIR/NNNN.json`` of its own with
"file": null. `summary_lines()` and `closing_line()` are what the CLI
prints to stderr at exit.
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
from datetime import datetime
from pathlib import Path
from typing import Any

from tclbridge.journal import ConnectionJournal, ConnectionRecord
from tclbridge.printable import printable
from tclbridge.recorder import (
    Delivery,
    RecordingServer,
    ServerScript,
    SessionRecord,
    TlsUse,
    Unstuffer,
)
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
    captured_at: datetime  # local time, with its offset
    session: int  # the capture server's number for the connection
    record: ConnectionRecord | None  # what the bridge's smtp said of the connection
    tls: TlsUse | None = None  # how it came: None for plain text


@dataclass(frozen=True)
class Unsent:
    path: Path  # the .json file
    mail_from: str
    record: ConnectionRecord
    decided_at: datetime


class Capture:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        host: str = "127.0.0.1",
        journal: ConnectionJournal | None = None,
        max_size: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.captured: list[Captured] = []
        self.unsent: list[Unsent] = []
        self._journal = journal
        if journal is not None:
            journal.on_unsent = self._save_unsent
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
        self._next: int | None = None  # the next NNNN to try (`_next_number`)

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
        """The number to try next: after the numbered files found in DIR at
        the first claim, then counted here (listing DIR at every claim made
        4000 records take 28 s); `_claim` steps over any taken meanwhile."""
        if self._next is None:
            numbers = [int(m.group(1)) for p in self.directory.iterdir()
                       if (m := _NUMBERED.match(p.name))]
            self._next = max(numbers, default=0) + 1
        return self._next

    def _save(self, spool: _Spool, delivery: Delivery) -> None:
        """Called in the server thread before the client gets its 250."""
        assert self._server is not None
        session = self._server.sessions[delivery.session]
        connection = self._journal.for_peer(session.peer) if self._journal else None
        now = _local_now()
        with self._lock:
            eml = self._claim(lambda path: os.link(spool.path, path))
            try:
                record: dict[str, object] = {
                    "file": eml.name,
                    "mail_from": delivery.mail_from,
                    "rcpt_tos": delivery.rcpt_tos,
                    "mail_options": delivery.mail_options,
                    "peer": session.peer,
                    "commands": list(session.commands),
                    "replies": list(session.replies),
                    "tls": _tls_record(delivery.tls),
                }
                record.update(_when_and_where(now, connection))
                record["size"] = spool.size
                _write_new(eml.with_suffix(".json"), json.dumps(record, indent=1).encode())
            except BaseException:
                eml.unlink()  # the client gets a 451: leave no half of a capture
                raise
            self.captured.append(Captured(
                eml, delivery.mail_from, tuple(delivery.rcpt_tos), spool.size,
                _subject(bytes(spool.head)), now, delivery.session, connection,
                delivery.tls))

    def _save_unsent(self, mail_from: str, connection: ConnectionRecord) -> None:
        now = _local_now()
        record: dict[str, object] = {"file": None, "mail_from": mail_from, "rcpt_tos": []}
        record.update(_when_and_where(now, connection))
        data = json.dumps(record, indent=1).encode()
        with self._lock:
            path = self._claim(lambda path: _write_new(path, data), ".json")
            self.unsent.append(Unsent(path, mail_from, connection, now))

    def _claim(self, place: Callable[[Path], None], suffix: str = ".eml") -> Path:
        """The next free NNNN`suffix`, made by `place` (which fails with
        FileExistsError if it is taken: another run may share DIR)."""
        number = self._next_number()
        while True:
            path = self.directory / f"{number:04d}{suffix}"
            try:
                place(path)
            except FileExistsError:
                number += 1
                continue
            self._next = number + 1
            return path

    def summary_lines(self) -> list[str]:
        """In the order they happened: per message, what, from and to whom,
        how big, its Subject, then when, which of the script's servers it was
        meant for and the recipients the site policy refused; the same for
        each send the policy kept off the network, and for each connection
        that delivered nothing."""
        with self._lock:
            captured = list(self.captured)
            unsent = list(self.unsent)
        journal = self._journal is not None
        events: list[tuple[datetime | None, list[str]]] = []
        for c in captured:
            to = ", ".join(f"<{r}>" for r in c.rcpt_tos)
            line = f"captured {c.path.name}: from <{c.mail_from}> to {to}, {readable_size(c.size)}"
            if c.subject is not None:
                line += f", Subject: {c.subject}"
            details = _details(c.captured_at, c.record, journal, how=_how_it_came(c.tls))
            events.append((c.captured_at, [printable(line), *details]))
        for u in unsent:
            line = (f"not sent {u.path.name}: the site policy refused every recipient "
                    f"(from <{u.mail_from}>)")
            events.append((u.decided_at,
                           [printable(line), *_details(u.decided_at, u.record, True)]))
        events += self._idle_connections({c.session for c in captured})
        # The untimed (connections the bridge did not make) last.
        events.sort(key=lambda event: (event[0] is None, event[0].timestamp() if event[0] else 0))
        return [line for _, lines in events for line in lines] + self._refusal_line()

    def _refusal_line(self) -> list[str]:
        """Once: what children sent that the journal did not record."""
        refusals = self._journal.refusals() if self._journal is not None else {}
        if not refusals:
            return []
        count = sum(refusals.values())
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(refusals.items()))
        return [f"tclbridge: {count} report{'s' if count != 1 else ''} from child processes "
                f"not recorded ({reasons}): the lines above and the .json files lack what "
                f"{'they' if count != 1 else 'it'} said"]

    def _idle_connections(self, delivered: set[int]) -> list[tuple[datetime | None, list[str]]]:
        """Each connection that delivered no message, where there is
        something to say: the bridge's smtp made it (a send that ended in
        RSET, or failed before MAIL), or it sent a command. A bare probe (a
        child checking that the server is up) is left out."""
        events: list[tuple[datetime | None, list[str]]] = []
        sessions = list(self._server.sessions) if self._server is not None else []
        for number, session in enumerate(sessions):
            if number in delivered:
                continue
            connection = self._journal.for_peer(session.peer) if self._journal else None
            if connection is None and not session.commands:
                continue
            line = printable(f"no message: {_idle_reason(session, connection)}")
            if connection is None or connection.connected_at is None:
                events.append((None, [line]))
            else:
                events.append((connection.connected_at,
                               [line, *_details(connection.connected_at, connection, True)]))
        return events

    def closing_line(self, stopped_by: str | None = None) -> str:
        """The last line: how many messages, and where they are. `stopped_by`
        names the signal that ended the run."""
        count = len(self.captured)
        what = (f"{count} message{'s' if count != 1 else ''} captured" if count
                else "nothing captured")
        where = printable(str(self.directory))
        if stopped_by is not None:
            return f"tclbridge: stopped by {stopped_by}; {what} in {where}"
        return f"tclbridge: {what} in {where}"


def _local_now() -> datetime:
    return datetime.now().astimezone()


def readable_size(size: int) -> str:
    """`size` bytes for a person: "999 bytes", "1.2 kB", "3.4 MB" (SI units,
    as `ls --si`); the exact number is in the .json file."""
    if size < 1000:
        return f"{size} byte{'' if size == 1 else 's'}"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        shown = f"{value:.1f}"
        if float(shown) < 1000 or unit == "TB":
            return f"{shown} {unit}"
    raise AssertionError("unreachable")


def _when_and_where(when: datetime, connection: ConnectionRecord | None) -> dict[str, Any]:
    """The .json fields for the time and the bridge's record of the connection."""
    fields: dict[str, Any] = {"captured_at": when.isoformat(timespec="milliseconds")}
    if connection is not None:
        fields["requested_server"] = connection.servers[0] if connection.servers else None
        fields["requested_servers"] = connection.servers
        if connection.policy is not None:
            fields["policy"] = list(connection.policy)
            fields["policy_refused"] = list(connection.refused)
        if connection.reported_by is not None:  # a child's word (tclbridge.journal)
            fields["reported_by_child"] = connection.reported_by.to_json(
                connection.connection_checked)
    return fields


def _details(when: datetime, connection: ConnectionRecord | None, journal: bool,
             how: str | None = None) -> list[str]:
    """The line under a message: when; with a `journal`, which server it was
    meant for (or that the bridge's smtp did not send it); `how` it came
    (TLS or not); the refusals."""
    line = f"  at {when.isoformat(sep=' ', timespec='seconds')}"
    if connection is not None:
        line += f", {_meant_for(connection)}"
    elif journal:
        line += ", not sent by the bridge's smtp (sendmail, or another client)"
    if how is not None:
        line += f", {how}"
    return [printable(line), *_refusal_lines(connection)]


def _how_it_came(tls: TlsUse | None) -> str:
    return "in plain text" if tls is None else f"over TLS ({tls})"


def _meant_for(connection: ConnectionRecord) -> str:
    if not connection.servers:
        return "for no server (the script named none)"
    first, *rest = connection.servers
    # The capture stands in for the first server: it answers, so the others
    # would only have been tried had it failed.
    return f"for {first}" + (f" (then {', '.join(rest)})" if rest else "")


def _refusal_lines(connection: ConnectionRecord | None) -> list[str]:
    if connection is None:
        return []
    return [printable(f"  policy refused <{r['recipient']}>: {r['reason']}")
            for r in connection.refused]


def _idle_reason(session: SessionRecord, connection: ConnectionRecord | None) -> str:
    who = "a connection" if connection else f"a connection from {session.peer}"
    said = ", ".join(_clipped(c) for c in session.commands[-3:]) or "no command"
    refusal = next((r for r in session.replies if r[:1] in ("4", "5")), None)
    text = f"{who} delivered nothing; it ended with: {said}"
    if refusal is not None:
        text += f" (the capture server replied {_clipped(refusal.splitlines()[0])})"
    return text


def _clipped(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


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
