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
`tclbridge.journal_service.JournalService` serves (its path in
TCLBRIDGE_CAPTURE_JOURNAL); each call waits for the parent's answer, so the
order above holds across processes. Both offer the same calls
(`JournalWriter`): a session does not know which it has.

A child is the script's own process tree, so what it reports is checked and
bounded, and labelled as its report (`Reporter`): each child may hold
CHILD_BUDGET bytes of records and all of them TOTAL_BUDGET, and make
MAX_UNSENT_PER_CHILD records of sends kept off the network; a record or an
addition past those is refused, counted by reason (`refusals`), and the
capture's summary says so once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar, overload

JOURNAL_ENV = "TCLBRIDGE_CAPTURE_JOURNAL"  # the parent's journal socket
MAX_LINE = 1 << 18  # bytes in one request from a child
MAX_ITEMS_PER_REQUEST = 500  # decisions and refusals in one request
# "[" and "{" bytes in one request: bounds its nesting (and its objects)
# before it is parsed. Brackets inside strings count too; the client counts
# the same way when it splits a record into requests.
MAX_MARKS = MAX_ITEMS_PER_REQUEST + 32
MAX_RECORDS = 4096  # connections remembered (the oldest are forgotten)
MAX_ITEMS = 100_000  # decisions or refusals kept per connection
CHILD_BUDGET = 16 << 20  # bytes of records one child process may hold
TOTAL_BUDGET = 64 << 20  # bytes of records all children together may hold
MAX_UNSENT_PER_CHILD = 1000  # records of sends kept off the network, per child
CLIENT_TIMEOUT = 10.0

Decision = dict[str, str]  # {"rule": ..., "decision": ...}
Refusal = dict[str, str]  # {"recipient": ..., "reason": ...}

# Why a child's report was not recorded (the keys of `refusals()`).
MALFORMED = "malformed"
OVER_BUDGET = "over the memory budget"
TOO_MANY_UNSENT = f"past {MAX_UNSENT_PER_CHILD} sends kept off the network"
NOT_ITS_OWN = "for a connection not the child's own"
TOO_LARGE = "too large to send"
INCOMPLETE = "cut off (the child went away)"
NO_ROOM = "no free connection to the journal"
FAULT = "not taken (an error in the parent)"


@dataclass(frozen=True)
class Reporter:
    """The child process a record came from over the journal socket."""

    pid: int | None  # None where the system does not say (not Linux)
    key: int  # whose budget it uses: the pid, or a number of the connection's own

    def to_json(self, checked: bool) -> dict[str, Any]:
        return {"pid": self.pid, "connection_checked": checked}


@dataclass
class ConnectionRecord:
    servers: list[str]  # the script's -servers/-ports, in order, as HOST:PORT
    # The site policy's decisions; None when the sending process had no policy.
    policy: Sequence[Decision] | None = None
    refused: Sequence[Refusal] = field(default_factory=list)  # recipients the policy refused
    # When the journal heard of the connection (local time, with its offset).
    connected_at: datetime | None = field(default=None, compare=False)
    # A child's report (None: this process's own), and whether the connection
    # it names was found to be the child's (tclbridge.socket_owner).
    reported_by: Reporter | None = field(default=None, compare=False)
    connection_checked: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"servers": self.servers, "policy": _listed(self.policy),
                "refused": list(self.refused)}

    @classmethod
    def from_json(cls, data: object) -> ConnectionRecord:
        """From a child's request; ValueError unless it has the right shape."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        policy = data.get("policy")
        return cls(
            servers=_strings(data.get("servers")),
            policy=None if policy is None else string_maps(policy, ("rule", "decision")),
            refused=string_maps(data.get("refused", []), ("recipient", "reason")),
        )


def _listed(items: Sequence[Any] | None) -> list[Any] | None:
    return None if items is None else list(items)


class JournalWriter(Protocol):
    # What a call returns is not the session's business (`object`): the
    # journal in this process says whether it took the record, for the service.
    def connected(self, local_address: str, record: ConnectionRecord) -> object:
        """A connection was made from `local_address`, for `record`."""

    def noted(self, local_address: str, decisions: list[Decision]) -> object:
        """More decisions, taken after the connection was made."""

    def unsent(self, sender: str, record: ConnectionRecord) -> object:
        """A send the policy kept off the network entirely."""


class Items(Protocol):
    """A record being built or kept: its lists and what they cost."""

    policy: list[Decision] | None
    refused: list[Refusal]
    cost: int


def extend_items(items: Items, decisions: Sequence[Decision], refused: Sequence[Refusal],
                 hold: Callable[[int], bool]) -> bool:
    """Add decisions and refusals to `items`, each list capped at MAX_ITEMS,
    once `hold` grants what they cost; False (nothing added) if it does not."""
    if decisions and items.policy is None:
        items.policy = []
    decisions = decisions[: max(0, MAX_ITEMS - len(items.policy or []))]
    refused = refused[: max(0, MAX_ITEMS - len(items.refused))]
    cost = items_cost(decisions) + items_cost(refused)
    if not hold(cost):
        return False
    items.cost += cost
    if items.policy is not None:
        items.policy += decisions
    items.refused += refused
    return True


@dataclass
class _Held:
    """A record as the journal keeps it: lists only ever appended to, so a
    snapshot is a length, not a copy."""

    servers: list[str]
    policy: list[Decision] | None
    refused: list[Refusal]
    connected_at: datetime
    reporter: Reporter | None
    checked: bool
    cost: int  # bytes charged to the reporter

    def snapshot(self) -> ConnectionRecord:
        policy = None if self.policy is None else _Prefix(self.policy, len(self.policy))
        return ConnectionRecord(self.servers, policy, _Prefix(self.refused, len(self.refused)),
                                self.connected_at, self.reporter, self.checked)


class ConnectionJournal:
    """The records, by connection (thread-safe), and what children may hold."""

    def __init__(self, child_budget: int = CHILD_BUDGET,
                 total_budget: int = TOTAL_BUDGET) -> None:
        self._lock = threading.Lock()
        self._by_peer: dict[str, _Held] = {}
        self.on_unsent: Callable[[str, ConnectionRecord], None] | None = None
        self._child_budget = child_budget
        self._total_budget = total_budget
        self._held: Counter[int] = Counter()  # bytes, by reporter key
        self._held_total = 0
        self._unsent: Counter[int] = Counter()  # records of unsent sends, by reporter key
        self._refusals: Counter[str] = Counter()

    # -- JournalWriter (this process's sessions; also a child's, with its reporter) --

    def connected(self, local_address: str, record: ConnectionRecord,
                  reporter: Reporter | None = None, checked: bool = False) -> bool:
        policy = None if record.policy is None else list(record.policy[:MAX_ITEMS])
        refused = list(record.refused[:MAX_ITEMS])
        servers = list(record.servers)
        cost = record_cost(servers, policy or [], refused)
        with self._lock:
            if not self._hold(reporter, cost):
                return False
            old = self._by_peer.pop(local_address, None)  # a reused port: the new one counts
            if old is not None:
                self._release(old.reporter, old.cost)
            self._by_peer[local_address] = _Held(servers, policy, refused,
                                                 datetime.now().astimezone(), reporter,
                                                 checked, cost)
            while len(self._by_peer) > MAX_RECORDS:
                forgotten = self._by_peer.pop(next(iter(self._by_peer)))
                self._release(forgotten.reporter, forgotten.cost)
        return True

    def noted(self, local_address: str, decisions: list[Decision]) -> None:
        self.add(local_address, decisions, [])

    def add(self, local_address: str, decisions: Sequence[Decision],
            refused: Sequence[Refusal], reporter: Reporter | None = None) -> bool:
        """More decisions and refusals for a connection; a child may add
        only to a record of its own."""
        with self._lock:
            held = self._by_peer.get(local_address)
            if held is None or _key(held.reporter) != _key(reporter):
                if reporter is not None:
                    self._refusals[NOT_ITS_OWN] += 1
                return False
            return extend_items(held, decisions, refused,
                                lambda cost: self._hold(reporter, cost))

    def unsent(self, sender: str, record: ConnectionRecord,
               reporter: Reporter | None = None) -> bool:
        """A send kept off the network. A child's record must already be
        held (`hold`); it stays held, as the capture keeps it to the end."""
        if reporter is not None:
            with self._lock:
                if self._unsent[reporter.key] >= MAX_UNSENT_PER_CHILD:
                    self._refusals[TOO_MANY_UNSENT] += 1
                    return False
                self._unsent[reporter.key] += 1
        if self.on_unsent is not None:
            self.on_unsent(sender, record)
        return True

    # -- reading ------------------------------------------------------------------

    def for_peer(self, peer: str) -> ConnectionRecord | None:
        """The record, as it is now, for the connection the capture sees from
        `peer` (a snapshot: later additions do not show in it)."""
        with self._lock:
            held = self._by_peer.get(peer)
            return None if held is None else held.snapshot()

    def refusals(self) -> dict[str, int]:
        """Children's reports not recorded, by reason."""
        with self._lock:
            return dict(self._refusals)

    # -- children's budgets -----------------------------------------------------------

    def refuse(self, reason: str) -> None:
        with self._lock:
            self._refusals[reason] += 1

    def hold(self, reporter: Reporter, cost: int) -> bool:
        """Charge `cost` bytes to `reporter`; False (and counted) past a budget."""
        with self._lock:
            return self._hold(reporter, cost)

    def release(self, reporter: Reporter, cost: int) -> None:
        with self._lock:
            self._release(reporter, cost)

    def _hold(self, reporter: Reporter | None, cost: int) -> bool:
        if reporter is None:
            return True
        if (self._held[reporter.key] + cost > self._child_budget
                or self._held_total + cost > self._total_budget):
            self._refusals[OVER_BUDGET] += 1
            return False
        self._held[reporter.key] += cost
        self._held_total += cost
        return True

    def _release(self, reporter: Reporter | None, cost: int) -> None:
        if reporter is not None:
            self._held[reporter.key] -= cost
            self._held_total -= cost

    def can_hold(self, reporter: Reporter, cost: int) -> bool:
        """Whether `cost` more bytes would fit (without charging them)."""
        with self._lock:
            return (self._held[reporter.key] + cost <= self._child_budget
                    and self._held_total + cost <= self._total_budget)


def _key(reporter: Reporter | None) -> int | None:
    return None if reporter is None else reporter.key


# What records cost in memory: the string and dict objects, as
# sys.getsizeof counts them, plus the list slot that refers to each.
_SLOT = 8
_RECORD = 512  # the record's own objects


def items_cost(items: Sequence[dict[str, str]]) -> int:
    return sum(sys.getsizeof(item) + _SLOT + sum(sys.getsizeof(v) for v in item.values())
               for item in items)


def record_cost(servers: Sequence[str], policy: Sequence[Decision],
                refused: Sequence[Refusal]) -> int:
    return (_RECORD + sum(sys.getsizeof(s) + _SLOT for s in servers)
            + items_cost(policy) + items_cost(refused))


T = TypeVar("T")


class _Prefix(Sequence[T]):
    """The first `length` items of a list that is only ever appended to: a
    snapshot that copies nothing (each captured message keeps one of its
    connection's record, and a record may hold 100 000 items)."""

    __slots__ = ("_items", "_length")

    def __init__(self, items: list[T], length: int) -> None:
        self._items = items
        self._length = length

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return self._items[: self._length][index]
        if not -self._length <= index < self._length:
            raise IndexError("index out of range")
        return self._items[index % self._length]

    def __iter__(self) -> Iterator[T]:
        for n in range(self._length):
            yield self._items[n]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Prefix | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(list(self))


# -- a child's journal is its parent's ---------------------------------------------


def nesting_marks(data: bytes) -> int:
    return data.count(b"[") + data.count(b"{")


class JournalClient:
    """A `JournalWriter` for a child process: each call is one or more JSON
    lines to the parent's `JournalService`, each answered before the next is
    sent. A record too big for one request is sent in parts (at most
    MAX_LINE bytes, MAX_ITEMS_PER_REQUEST items and MAX_MARKS brackets each);
    a single decision or refusal too big for any request is left out and the
    parent told ("lost"), so its summary says a record is incomplete.

    The parent closes a connection that stays idle, or the oldest idle one
    when all are taken: a request that finds its connection closed is sent
    once more on a new one. If the parent cannot be reached at all the
    records are dropped (only the summary and the .json files lose them);
    the mail itself goes on."""

    def __init__(self, path: str, timeout: float = CLIENT_TIMEOUT) -> None:
        self._path = path
        self._timeout = timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self._broken = False

    def connected(self, local_address: str, record: ConnectionRecord) -> None:
        head = {"op": "connected", "peer": local_address, "record": _head(record)}
        if self._request(head):
            self._add({"op": "add", "peer": local_address}, record.policy or [], record.refused)

    def noted(self, local_address: str, decisions: list[Decision]) -> None:
        self._add({"op": "add", "peer": local_address}, decisions, [])

    def unsent(self, sender: str, record: ConnectionRecord) -> None:
        if self._request({"op": "unsent", "sender": sender, "record": _head(record)}):
            self._add({"op": "unsent-add"}, record.policy or [], record.refused)
            self._request({"op": "unsent-done"})

    def _add(self, base: dict[str, Any], decisions: Sequence[Decision],
             refused: Sequence[Refusal]) -> None:
        """`decisions` and `refused` in as few requests as the limits allow."""
        empty = _items_line(base, [], [])
        batch: dict[str, list[bytes]] = {"policy": [], "refused": []}
        size, marks, lost = len(empty), nesting_marks(empty), False
        for name, items in (("policy", decisions), ("refused", refused)):
            for item in items:
                encoded = json.dumps(item).encode()
                if (len(empty) + len(encoded) + 2 > MAX_LINE
                        or nesting_marks(empty) + nesting_marks(encoded) > MAX_MARKS):
                    lost = True
                    continue
                count = len(batch["policy"]) + len(batch["refused"])
                if (count == MAX_ITEMS_PER_REQUEST or size + len(encoded) + 2 > MAX_LINE
                        or marks + nesting_marks(encoded) > MAX_MARKS):
                    if not self._request_line(_items_line(base, **batch)):
                        return
                    batch = {"policy": [], "refused": []}
                    size, marks = len(empty), nesting_marks(empty)
                batch[name].append(encoded)
                size += len(encoded) + 2
                marks += nesting_marks(encoded)
        if (batch["policy"] or batch["refused"]) and not self._request_line(
                _items_line(base, **batch)):
            return
        if lost:
            self._request({"op": "lost"})

    def _request(self, message: dict[str, Any]) -> bool:
        line = json.dumps(message).encode() + b"\n"
        if len(line) > MAX_LINE or nesting_marks(line) > MAX_MARKS:
            self._request({"op": "lost"})
            return False
        return self._request_line(line)

    def _request_line(self, line: bytes) -> bool:
        """Send one request; whether the parent took it."""
        with self._lock:
            while not self._broken:
                fresh = self._sock is None
                try:
                    if fresh:
                        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        self._sock.settimeout(self._timeout)
                        self._sock.connect(self._path)
                        self._reader = self._sock.makefile("rb")
                    assert self._sock is not None
                    self._sock.sendall(line)
                    answer = self._reader.readline(16)
                    if not answer:
                        raise ConnectionError("the journal closed the connection")
                    return bool(answer == b"ok\n")
                except OSError:
                    self.close()
                    # A connection the parent had closed (idle, or room made
                    # for another): once more on a new one. A new one failing
                    # means the parent cannot be reached.
                    self._broken = fresh
            return False

    def close(self) -> None:
        for stream in (self._reader, self._sock):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._sock = self._reader = None


def _head(record: ConnectionRecord) -> dict[str, Any]:
    """The record without its decisions and refusals (sent after it)."""
    return {"servers": record.servers, "policy": None if record.policy is None else [],
            "refused": []}


def _items_line(base: dict[str, Any], policy: list[bytes], refused: list[bytes]) -> bytes:
    opening = json.dumps(base).encode()[:-1]  # without its closing brace
    return (opening + b', "policy": [' + b", ".join(policy) + b'], "refused": ['
            + b", ".join(refused) + b"]}\n")


# -- checking a child's request ---------------------------------------------------


def string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("not a list")
    return [string(item) for item in value]


def string_maps(value: object, keys: tuple[str, ...]) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValueError("not a list")
    items = []
    for item in value:
        if not isinstance(item, dict) or set(item) != set(keys):
            raise ValueError("not a decision")
        items.append({key: string(item[key]) for key in keys})
    return items
