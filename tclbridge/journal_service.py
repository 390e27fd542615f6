"""The parent's end of the capture journal socket (tclbridge.journal): child
`tclbridge run`s write their connection records to it.

The children are the script's own process tree, so every request is treated
as hostile until checked:
- a request is read whole, at most MAX_LINE bytes and MAX_MARKS brackets
  (so nesting is bounded before any parsing), then checked for shape; a bad
  one is answered "error" and changes nothing, and anything that still goes
  wrong in a handler ends that connection, silently;
- a child may write only records of its own connections: SO_PEERCRED names
  the process, and the connection it names must be one of that process's
  sockets (tclbridge.socket_owner); what it may hold is budgeted
  (ConnectionJournal);
- at most `max_clients` connections are served; one idle for `idle_timeout`
  is closed, and when all are taken a new one is let in in place of the
  oldest idle connection of the process that holds the most (a child whose
  connection is closed opens a new one: JournalClient).
Nothing is written to stderr (it is the script's): what was refused is
counted in the journal, and the capture's summary says it once.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tclbridge import socket_owner
from tclbridge.journal import (
    FAULT,
    INCOMPLETE,
    MALFORMED,
    MAX_ITEMS,
    MAX_LINE,
    MAX_MARKS,
    NO_ROOM,
    NOT_ITS_OWN,
    OVER_BUDGET,
    TOO_LARGE,
    ConnectionJournal,
    ConnectionRecord,
    Decision,
    Refusal,
    Reporter,
    extend_items,
    nesting_marks,
    record_cost,
    string,
    string_maps,
)

MAX_CLIENTS = 64  # child connections served at once
IDLE_TIMEOUT = 30.0  # seconds a connection may wait between requests (or within one)
ANSWER_TIMEOUT = 2.0  # seconds to hand over an answer
_unknown_pids = itertools.count(-1, -1)  # budget keys where the system names no pid


@dataclass
class _Pending:
    """A send kept off the network, arriving in parts ("unsent", then
    "unsent-add"s, then "unsent-done")."""

    sender: str
    servers: list[str]
    policy: list[Decision] | None
    refused: list[Refusal]
    cost: int  # held for the child


@dataclass(eq=False)
class _Client:
    conn: socket.socket
    reporter: Reporter
    last_done: float = field(default_factory=time.monotonic)  # accepted, or last answered
    busy: bool = False  # between reading a request and answering it
    evicted: bool = False
    pending: _Pending | None = None


class JournalService:
    """Serves a `ConnectionJournal` to child processes on a Unix socket at
    `path` (in a directory only this user can enter)."""

    def __init__(self, journal: ConnectionJournal, path: str, *,
                 max_clients: int = MAX_CLIENTS, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.journal = journal
        self.path = path
        self._max_clients = max_clients
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._clients: list[_Client] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(max_clients)
        threading.Thread(target=self._accept, name="tclbridge-journal", daemon=True).start()

    # -- connections ------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            try:
                pid = socket_owner.peer_pid(conn)
                client = _Client(conn, Reporter(pid, pid if pid is not None
                                                else next(_unknown_pids)))
                conn.settimeout(self._idle_timeout)
                admitted = self._admit(client)
            except Exception:  # noqa: BLE001 - never let one connection stop the service
                admitted = False
            if not admitted:
                self.journal.refuse(NO_ROOM)
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _admit(self, client: _Client) -> bool:
        """Room for `client`: a free slot, or one made by closing the oldest
        idle connection of the process that holds the most; else wait a
        little for an answer in progress to end."""
        deadline = time.monotonic() + ANSWER_TIMEOUT
        with self._room:
            while len(self._clients) >= self._max_clients:
                victim = self._victim()
                if victim is not None:
                    self._evict(victim)
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._room.wait(left)
            self._clients.append(client)
        return True

    def _victim(self) -> _Client | None:
        held = Counter(c.reporter.key for c in self._clients)
        idle = [c for c in self._clients if not c.busy]
        return min(idle, key=lambda c: (-held[c.reporter.key], c.last_done), default=None)

    def _evict(self, client: _Client) -> None:
        client.evicted = True
        self._clients.remove(client)
        with contextlib.suppress(OSError):
            client.conn.shutdown(socket.SHUT_RDWR)  # wakes its handler's read

    def _serve(self, client: _Client) -> None:
        conn = client.conn
        try:
            with conn, conn.makefile("rb") as lines:
                while self._serve_one(client, lines.readline(MAX_LINE + 1)):
                    pass
        except Exception:  # noqa: BLE001, S110 - a timeout, a reset, anything: this connection ends
            pass
        finally:
            with self._room:
                if not client.evicted:
                    self._clients.remove(client)
                self._room.notify_all()
            self._drop_pending(client)  # a record begun and never finished

    def _serve_one(self, client: _Client, line: bytes) -> bool:
        """Answer one request; whether to go on with the connection."""
        if not line:
            return False
        with self._lock:
            if client.evicted:  # closed to make room: the child sends it again
                return False
            client.busy = True
        try:
            whole = len(line) <= MAX_LINE and line.endswith(b"\n")
            go_on = whole  # an oversized request ends the connection, unread
            taken = False
            if len(line) > MAX_LINE:
                self.journal.refuse(MALFORMED)
            elif whole:
                try:
                    taken = self._apply(client, line)
                except (ValueError, KeyError, TypeError):  # JSONDecodeError is a ValueError
                    self.journal.refuse(MALFORMED)
                except Exception:  # noqa: BLE001 - refused, and the connection closed
                    self.journal.refuse(FAULT)
                    go_on = False
            client.conn.settimeout(ANSWER_TIMEOUT)
            client.conn.sendall(b"ok\n" if taken else b"error\n")
            client.conn.settimeout(self._idle_timeout)
            return go_on
        finally:
            with self._room:
                client.busy = False
                client.last_done = time.monotonic()
                self._room.notify_all()  # a connection waiting for room may evict this one

    # -- requests ---------------------------------------------------------------------

    def _apply(self, client: _Client, line: bytes) -> bool:
        reporter = client.reporter
        # Bounded before parsing: nesting (a line of "[" is a RecursionError
        # in json), and what the child could not hold anyway.
        if nesting_marks(line) > MAX_MARKS:
            raise ValueError("nested too deep")
        if not self.journal.can_hold(reporter, len(line)):
            self.journal.refuse(OVER_BUDGET)
            return False
        message: Any = json.loads(line)
        if not isinstance(message, dict):
            raise ValueError("not an object")
        op = message["op"]
        if op == "connected":
            return self._connected(client, string(message["peer"]),
                                   ConnectionRecord.from_json(message["record"]))
        if op == "add":
            return self.journal.add(string(message["peer"]), *_items(message), reporter)
        if op == "unsent":
            return self._unsent(client, string(message["sender"]),
                                ConnectionRecord.from_json(message["record"]))
        if op == "unsent-add":
            return self._unsent_add(client, *_items(message))
        if op == "unsent-done":
            return self._unsent_done(client)
        if op == "lost":
            self.journal.refuse(TOO_LARGE)
            return True
        raise ValueError(f"no such request: {op!r}")

    def _connected(self, client: _Client, peer: str, record: ConnectionRecord) -> bool:
        pid = client.reporter.pid
        checked = pid is not None and socket_owner.owns_tcp_socket(pid, peer)
        if pid is not None and not checked:
            self.journal.refuse(NOT_ITS_OWN)
            return False
        return self.journal.connected(peer, record, client.reporter, checked)

    def _unsent(self, client: _Client, sender: str, record: ConnectionRecord) -> bool:
        self._drop_pending(client)  # a second one begun: the first is cut off
        policy = None if record.policy is None else list(record.policy[:MAX_ITEMS])
        refused = list(record.refused[:MAX_ITEMS])
        cost = record_cost(record.servers, policy or [], refused)
        if not self.journal.hold(client.reporter, cost):
            return False
        client.pending = _Pending(sender, record.servers, policy, refused, cost)
        return True

    def _unsent_add(self, client: _Client, decisions: list[Decision],
                    refused: list[Refusal]) -> bool:
        pending = client.pending
        if pending is None:
            raise ValueError("no unsent record begun")
        return extend_items(pending, decisions, refused,
                            lambda cost: self.journal.hold(client.reporter, cost))

    def _unsent_done(self, client: _Client) -> bool:
        pending = client.pending
        if pending is None:
            raise ValueError("no unsent record begun")
        client.pending = None
        # No connection to check: the child's word, and labelled as such.
        record = ConnectionRecord(pending.servers, pending.policy, pending.refused,
                                  reported_by=client.reporter, connection_checked=False)
        if self.journal.unsent(pending.sender, record, client.reporter):
            return True
        self.journal.release(client.reporter, pending.cost)
        return False

    def _drop_pending(self, client: _Client) -> None:
        if client.pending is not None:
            self.journal.release(client.reporter, client.pending.cost)
            self.journal.refuse(INCOMPLETE)
            client.pending = None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
        self._listener.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _items(message: dict[str, Any]) -> tuple[list[Decision], list[Refusal]]:
    return (string_maps(message["policy"], ("rule", "decision")),
            string_maps(message["refused"], ("recipient", "reason")))
