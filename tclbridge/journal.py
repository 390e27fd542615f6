"""What each connection the bridge makes under capture tells the capture
server about itself: the servers the script asked for (the capture stands
in for them) and the site policy's decisions and refusals.

The capture server sees only a loopback peer ("127.0.0.1:PORT"); the session
that made the connection knows that address as its local one, so records are
keyed by it. A session writes its record once connected, before it sends a
command, and adds each later decision before the command it affects: by the
time the capture saves a message, the record is complete.

`ConnectionJournal` holds the records, in the process that runs the capture.
A child `tclbridge run` (it sends to its parent's capture server) writes to
its parent's journal with `JournalClient`, over the Unix socket that
`JournalService` serves (its path in TCLBRIDGE_CAPTURE_JOURNAL); each call
waits for the parent's answer, so the order above holds across processes.
Both offer the same calls (`JournalWriter`): a session does not know which
it has.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

JOURNAL_ENV = "TCLBRIDGE_CAPTURE_JOURNAL"  # the parent's journal socket
MAX_LINE = 1 << 20  # bytes in one request from a child
MAX_RECORDS = 4096  # connections remembered (the oldest are forgotten)
MAX_ITEMS = 100_000  # decisions or refusals kept per connection
MAX_CLIENTS = 64  # child connections served at once
CHUNK = 500  # decisions or refusals per request from a child
CLIENT_TIMEOUT = 10.0

Decision = dict[str, str]  # {"rule": ..., "decision": ...}
Refusal = dict[str, str]  # {"recipient": ..., "reason": ...}


@dataclass
class ConnectionRecord:
    servers: list[str]  # the script's -servers/-ports, in order, as HOST:PORT
    # The site policy's decisions; None when the sending process had no policy.
    policy: list[Decision] | None = None
    refused: list[Refusal] = field(default_factory=list)  # recipients the policy refused
    # When the journal heard of the connection (local time, with its offset).
    connected_at: datetime | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"servers": self.servers, "policy": self.policy, "refused": self.refused}

    @classmethod
    def from_json(cls, data: object) -> ConnectionRecord:
        """From a child's request; ValueError unless it has the right shape."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        policy = data.get("policy")
        return cls(
            servers=_strings(data.get("servers")),
            policy=None if policy is None else _string_maps(policy, ("rule", "decision")),
            refused=_string_maps(data.get("refused", []), ("recipient", "reason")),
        )


class JournalWriter(Protocol):
    def connected(self, local_address: str, record: ConnectionRecord) -> None:
        """A connection was made from `local_address`, for `record`."""

    def noted(self, local_address: str, decisions: list[Decision]) -> None:
        """More decisions, taken after the connection was made."""

    def unsent(self, sender: str, record: ConnectionRecord) -> None:
        """A send the policy kept off the network entirely."""


class ConnectionJournal:
    """The records, by connection (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_peer: dict[str, ConnectionRecord] = {}
        self.on_unsent: Callable[[str, ConnectionRecord], None] | None = None

    def connected(self, local_address: str, record: ConnectionRecord) -> None:
        record = ConnectionRecord(list(record.servers), _capped(record.policy),
                                  _capped(record.refused) or [], datetime.now().astimezone())
        with self._lock:
            self._by_peer.pop(local_address, None)  # a reused port: the new one counts
            self._by_peer[local_address] = record
            while len(self._by_peer) > MAX_RECORDS:
                del self._by_peer[next(iter(self._by_peer))]

    def noted(self, local_address: str, decisions: list[Decision]) -> None:
        with self._lock:
            record = self._by_peer.get(local_address)
            if record is not None:
                if record.policy is None:
                    record.policy = []
                record.policy += decisions[: max(0, MAX_ITEMS - len(record.policy))]

    def add_refusals(self, local_address: str, refused: list[Refusal]) -> None:
        with self._lock:
            record = self._by_peer.get(local_address)
            if record is not None:
                record.refused += refused[: max(0, MAX_ITEMS - len(record.refused))]

    def unsent(self, sender: str, record: ConnectionRecord) -> None:
        if self.on_unsent is not None:
            self.on_unsent(sender, record)

    def for_peer(self, peer: str) -> ConnectionRecord | None:
        """A copy of the record for the connection the capture sees from `peer`."""
        with self._lock:
            record = self._by_peer.get(peer)
            if record is None:
                return None
            policy = None if record.policy is None else list(record.policy)
            return ConnectionRecord(list(record.servers), policy, list(record.refused),
                                    record.connected_at)


def _capped(items: list[Any] | None) -> list[Any] | None:
    return None if items is None else list(items[:MAX_ITEMS])


# -- a child's journal is its parent's ---------------------------------------------


class JournalClient:
    """A `JournalWriter` for a child process: each call is a JSON line to the
    parent's `JournalService`, answered before the call returns. If the
    parent cannot be reached the records are dropped (only the summary and
    the .json files lose them); the mail itself goes on."""

    def __init__(self, path: str, timeout: float = CLIENT_TIMEOUT) -> None:
        self._path = path
        self._timeout = timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self._broken = False

    def connected(self, local_address: str, record: ConnectionRecord) -> None:
        head = ConnectionRecord(record.servers, None if record.policy is None else [], [])
        self._request({"op": "connected", "peer": local_address, "record": head.to_json()})
        self._add(local_address, record.policy or [], record.refused)

    def noted(self, local_address: str, decisions: list[Decision]) -> None:
        self._add(local_address, decisions, [])

    def unsent(self, sender: str, record: ConnectionRecord) -> None:
        self._request({"op": "unsent", "sender": sender, "record": record.to_json()})

    def _add(self, peer: str, decisions: list[Decision], refused: list[Refusal]) -> None:
        for start in range(0, max(len(decisions), len(refused)), CHUNK):
            self._request({"op": "add", "peer": peer, "policy": decisions[start:start + CHUNK],
                           "refused": refused[start:start + CHUNK]})

    def _request(self, message: dict[str, Any]) -> None:
        line = json.dumps(message).encode() + b"\n"
        with self._lock:
            if self._broken or len(line) > MAX_LINE:
                return
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self._sock.settimeout(self._timeout)
                    self._sock.connect(self._path)
                    self._reader = self._sock.makefile("rb")
                self._sock.sendall(line)
                if not self._reader.readline(16):
                    raise ConnectionError("the journal closed the connection")
            except OSError:
                self._broken = True
                self.close()

    def close(self) -> None:
        for stream in (self._reader, self._sock):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._sock = self._reader = None


class JournalService:
    """Serves a `ConnectionJournal` to child processes on a Unix socket at
    `path` (in a directory only this user can enter). Every request is read
    whole and checked before it is applied; a malformed or oversized one is
    answered "error" and changes nothing."""

    def __init__(self, journal: ConnectionJournal, path: str) -> None:
        self.journal = journal
        self.path = path
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(MAX_CLIENTS)
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        threading.Thread(target=self._accept, name="tclbridge-journal", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            if not self._slots.acquire(blocking=False):
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("rb") as lines:
                while True:
                    line = lines.readline(MAX_LINE + 1)
                    if not line:
                        return
                    if len(line) > MAX_LINE or not line.endswith(b"\n"):
                        conn.sendall(b"error\n")
                        return
                    conn.sendall(b"ok\n" if self._apply(line) else b"error\n")
        except OSError:
            pass
        finally:
            self._slots.release()

    def _apply(self, line: bytes) -> bool:
        try:
            message = json.loads(line)
            op = message["op"]
            if op == "connected":
                peer = _string(message["peer"])
                self.journal.connected(peer, ConnectionRecord.from_json(message["record"]))
            elif op == "add":
                peer = _string(message["peer"])
                decisions = _string_maps(message["policy"], ("rule", "decision"))
                refused = _string_maps(message["refused"], ("recipient", "reason"))
                if decisions:
                    self.journal.noted(peer, decisions)
                if refused:
                    self.journal.add_refusals(peer, refused)
            elif op == "unsent":
                sender = _string(message["sender"])
                self.journal.unsent(sender, ConnectionRecord.from_json(message["record"]))
            else:
                return False
        except (ValueError, KeyError, TypeError):  # JSONDecodeError is a ValueError
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
        self._listener.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("not a list")
    return [_string(item) for item in value]


def _string_maps(value: object, keys: tuple[str, ...]) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValueError("not a list")
    items = []
    for item in value:
        if not isinstance(item, dict) or set(item) != set(keys):
            raise ValueError("not a decision")
        items.append({key: _string(item[key]) for key in keys})
    return items
