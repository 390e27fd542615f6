"""The capture journal socket against its own children: a captured script's
process tree can reach $TCLBRIDGE_CAPTURE_JOURNAL and send anything. It must
not crash a handler, lock genuine children out, grow the parent without
bound, flood DIR, write over another process's records, or lose a genuine
record silently.

Real runs: `python -m tclbridge run --capture` with a script that execs the
attacker (tests/support/hostile_child.py) and a genuine child bridge run;
in-process services for what needs a short timeout or a second process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tclbridge.capture import Capture
from tclbridge.journal import (
    MAX_UNSENT_PER_CHILD,
    ConnectionJournal,
    ConnectionRecord,
    JournalClient,
    Reporter,
)
from tclbridge.journal_service import JournalService
from tests.support.hermetic import REPO, bridge_env, numbered, tclbridge
from tests.support.journal_peers import own_connections

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("tclsh") is None,
    reason="needs Linux (/proc, SO_PEERCRED, namespaces) and tclsh")

HOSTILE = f"{{{sys.executable}}} -m tests.support.hostile_child"
CHILD_SEND = """package require smtp
set tok [mime::initialize -canonical text/plain -string hello]
puts [smtp::sendmessage $tok -servers child.example -header {From ops@example.com} \\
    -header {To c@example.com}]
"""


def captured(tmp_path: Path, script: str, timeout: float = 120) -> subprocess.CompletedProcess:
    (tmp_path / "child.tcl").write_text(CHILD_SEND)
    (tmp_path / "s.tcl").write_text(script)
    return tclbridge("run", "--capture", "cap", "s.tcl", cwd=tmp_path,
                     env=bridge_env(PYTHONPATH=str(REPO)), timeout=timeout)


def genuine_child() -> str:
    return f"puts [exec {{{sys.executable}}} -m tclbridge run child.tcl]\n"


# -- (a) a handler survives anything ------------------------------------------------


def test_deep_nesting_is_refused_before_parsing_and_nothing_reaches_stderr(
        tmp_path: Path) -> None:
    done = captured(tmp_path, f"puts [exec {HOSTILE} nest]\n" + genuine_child())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "answer b'error\\n'"
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    lines = done.stderr.splitlines()
    # The genuine child's record still arrives; the refusal is said once.
    assert re.match(r"  at .*, for child\.example:25", lines[1]), lines
    assert lines[-2] == ("tclbridge: 1 report from child processes not recorded (1 malformed): "
                         "the lines above and the .json files lack what it said")


def test_any_exception_in_a_handler_ends_that_connection_quietly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault where none is expected (here: the journal itself raising) is
    contained: the request refused, the connection closed, no traceback
    (threading's excepthook never called), the service still serving."""
    hooked: list[object] = []
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    records = ConnectionJournal()

    def fault(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("fault")

    monkeypatch.setattr(records, "add", fault)
    service = JournalService(records, str(tmp_path / "j.sock"))
    try:
        with own_connections() as [peer], socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(service.path)
            answers = sock.makefile("rb")
            sock.sendall(json.dumps({"op": "add", "peer": peer, "policy": [],
                                     "refused": []}).encode() + b"\n")
            assert answers.readline() == b"error\n"
            assert answers.readline() == b""  # closed
        client = JournalClient(service.path, timeout=5)
        with own_connections() as [peer]:
            client.connected(peer, ConnectionRecord(["mail.example:25"], None, []))
            assert records.for_peer(peer) == ConnectionRecord(["mail.example:25"])
        client.close()
    finally:
        service.close()
    assert hooked == []
    assert records.refusals() == {"not taken (an error in the parent)": 1}


# -- (b) no lock-out ------------------------------------------------------------------


def test_idle_connections_cannot_lock_a_genuine_child_out(tmp_path: Path) -> None:
    """64 idle connections took every slot and the child's records were
    dropped without a word ("not sent by the bridge's smtp")."""
    script = f"""
set ready [file join [pwd] ready]
set holder [exec {HOSTILE} hold 64 $ready &]
for {{set i 0}} {{$i < 1500 && ![file exists $ready]}} {{incr i}} {{ after 20 }}
if {{![file exists $ready]}} {{ error "the holder never got ready" }}
{genuine_child()}
exec kill $holder
"""
    done = captured(tmp_path, script)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("captured 0001.eml: from <ops@example.com> to <c@example.com>")
    assert re.match(r"  at .*, for child\.example:25, over TLS", lines[1]), lines


def test_an_idle_connection_is_closed_and_the_child_comes_back(tmp_path: Path) -> None:
    records = ConnectionJournal()
    service = JournalService(records, str(tmp_path / "j.sock"), idle_timeout=0.5)
    try:
        with socket.socket(socket.AF_UNIX) as idle:
            idle.settimeout(10)
            started = time.monotonic()  # before the accept that starts the idle timer
            idle.connect(service.path)
            assert idle.recv(1) == b""  # closed by the parent
            assert 0.4 < time.monotonic() - started < 5
        client = JournalClient(service.path, timeout=5)
        with own_connections() as [peer]:
            client.connected(peer, ConnectionRecord(["mail.example:25"], [], []))
            time.sleep(1)  # past the idle timeout: the parent closed it
            client.noted(peer, [{"rule": "tls", "decision": "later"}])
            record = records.for_peer(peer)
            assert record is not None and record.policy == [{"rule": "tls",
                                                              "decision": "later"}]
        client.close()
    finally:
        service.close()


def test_slots_go_to_the_process_that_holds_fewest(tmp_path: Path) -> None:
    """All slots held by another process: a new connection takes the place
    of that process's oldest idle one, not of this one's."""
    records = ConnectionJournal()
    service = JournalService(records, str(tmp_path / "j.sock"), max_clients=4)
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.support.hostile_child", "hold", "4",
         str(tmp_path / "ready")], cwd=REPO,
        env={**os.environ, "TCLBRIDGE_CAPTURE_JOURNAL": service.path})
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        client = JournalClient(service.path, timeout=5)
        with own_connections(2) as [first, second]:
            client.connected(first, ConnectionRecord(["one.example:25"], [], []))
            client.connected(second, ConnectionRecord(["two.example:25"], [], []))
            assert records.for_peer(first) is not None
            assert records.for_peer(second) is not None
        client.close()
    finally:
        holder.kill()
        holder.wait()
        service.close()


# -- (c) memory -------------------------------------------------------------------------


def test_a_child_cannot_grow_the_parent_without_bound(tmp_path: Path) -> None:
    """300 requests of 250 kB each (75 MB): the parent held them all before
    (+90 MB); now a child holds at most 16 MiB and the rest is refused."""
    done = captured(tmp_path, f"puts [exec {HOSTILE} memory 300]\n")
    assert done.returncode == 0, done.stderr
    taken, before, after = map(int, re.fullmatch(
        r"taken (\d+) memory (\d+) -> (\d+) MB", done.stdout.strip()).groups())
    assert taken < 300
    assert after - before < 40, done.stdout
    refused = 300 - taken
    assert done.stderr.splitlines()[-2] == (
        f"tclbridge: {refused} reports from child processes not recorded ({refused} over the "
        "memory budget): the lines above and the .json files lack what they said")


def test_budgets_per_child_and_in_total() -> None:
    records = ConnectionJournal(child_budget=10_000, total_budget=25_000)
    one, two, three = (Reporter(pid, pid) for pid in (101, 102, 103))
    big = ConnectionRecord(["x:25"], [], [{"recipient": "r" * 7000, "reason": "no"}])
    assert records.connected("127.0.0.1:1", big, one)
    assert not records.connected("127.0.0.1:2", big, one)  # over its own budget
    assert records.connected("127.0.0.1:3", big, two)
    assert records.connected("127.0.0.1:4", big, three)
    small = ConnectionRecord(["x:25"], [], [{"recipient": "r" * 3000, "reason": "no"}])
    assert not records.connected("127.0.0.1:5", small, Reporter(104, 104))  # over the total
    assert records.refusals() == {"over the memory budget": 2}
    # This process's own records are not a child's to budget.
    assert records.connected("127.0.0.1:6", big)
    # A record written over (a reused port) gives its bytes back: `one` has
    # room again (7 kB + 3 kB would be past its 10 kB).
    assert records.connected("127.0.0.1:1", ConnectionRecord(["x:25"]), one)
    assert records.connected("127.0.0.1:7", small, one)
    assert not records.add("127.0.0.1:7", [], big.refused, one)  # and no more


# -- (d) DIR and records of other processes' connections --------------------------------


def test_a_flood_of_unsent_records_is_capped_and_linear(tmp_path: Path) -> None:
    """4000 unsent records took 28 s (DIR listed at every claim) and made
    4000 files; now 1000 per child, the rest refused and said so."""
    started = time.monotonic()
    done = captured(tmp_path, f"puts [exec {HOSTILE} unsent 4000]\n")
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert len(numbered(tmp_path / "cap")) == MAX_UNSENT_PER_CHILD
    refused = 4000 - MAX_UNSENT_PER_CHILD
    assert done.stderr.splitlines()[-2] == (
        f"tclbridge: {refused} reports from child processes not recorded ({refused} past "
        f"{MAX_UNSENT_PER_CHILD} sends kept off the network): the lines above and the "
        ".json files lack what they said")
    assert took < 25, took
    record = json.loads((tmp_path / "cap" / "0001.json").read_text())
    assert record["file"] is None
    assert record["reported_by_child"]["connection_checked"] is False


def test_a_child_may_record_only_its_own_connections(tmp_path: Path) -> None:
    """Another process naming this process's connection is refused (it could
    write over the record of a connection it did not make); this process
    naming it is taken and labelled with its pid."""
    records = ConnectionJournal()
    service = JournalService(records, str(tmp_path / "j.sock"))
    try:
        with own_connections() as [peer]:
            claim = (f"from tclbridge.journal import JournalClient, ConnectionRecord\n"
                     f"c = JournalClient({service.path!r})\n"
                     f"c.connected({peer!r}, ConnectionRecord(['forged.example:25'], [], []))\n"
                     f"c.unsent('a@example.com', ConnectionRecord(['forged.example:25']))\n")
            other = subprocess.run([sys.executable, "-c", claim], cwd=REPO, timeout=60,
                                   capture_output=True, text=True)
            assert other.returncode == 0, other.stderr
            assert records.for_peer(peer) is None
            assert records.refusals() == {"for a connection not the child's own": 1}
            client = JournalClient(service.path, timeout=5)
            client.connected(peer, ConnectionRecord(["mail.example:25"], [], []))
            record = records.for_peer(peer)
            assert record is not None and record.servers == ["mail.example:25"]
            assert record.reported_by is not None and record.reported_by.pid == os.getpid()
            assert record.connection_checked
            client.close()
    finally:
        service.close()


# -- (e) a big record arrives, a too big one is said to be lost ---------------------


def test_an_unsent_record_over_a_request_arrives_whole(tmp_path: Path) -> None:
    """20 000 refused recipients (1.9 MB): dropped by the client before."""
    records = ConnectionJournal()
    cap = Capture(tmp_path / "cap", journal=records)
    cap.directory.mkdir()
    service = JournalService(records, str(tmp_path / "j.sock"))
    refused = [{"recipient": f"user{n}@rivals.example",
                "reason": "domain rivals.example is in deny_domains"} for n in range(20_000)]
    policy = [{"rule": "recipients", "decision": f"refused <{r['recipient']}>"}
              for r in refused]
    try:
        client = JournalClient(service.path, timeout=10)
        client.unsent("a@example.com", ConnectionRecord(["mail.example:25"], policy, refused))
        client.close()
    finally:
        service.close()
    [unsent] = cap.unsent
    assert list(unsent.record.refused) == refused and list(unsent.record.policy or []) == policy
    saved = json.loads(unsent.path.read_text())
    assert saved["policy_refused"] == refused
    assert saved["reported_by_child"] == {"pid": os.getpid(), "connection_checked": False}
    assert records.refusals() == {}


def test_a_refusal_too_big_for_any_request_is_reported_lost(tmp_path: Path) -> None:
    records = ConnectionJournal()
    cap = Capture(tmp_path / "cap", journal=records)
    cap.directory.mkdir()
    service = JournalService(records, str(tmp_path / "j.sock"))
    huge = {"recipient": "x" * 300_000 + "@rivals.example", "reason": "denied"}
    try:
        client = JournalClient(service.path, timeout=10)
        client.unsent("a@example.com", ConnectionRecord(
            ["mail.example:25"], [], [{"recipient": "a@rivals.example", "reason": "denied"},
                                      huge]))
        client.close()
    finally:
        service.close()
    [unsent] = cap.unsent
    assert list(unsent.record.refused) == [{"recipient": "a@rivals.example", "reason": "denied"}]
    assert cap.summary_lines()[-1] == (
        "tclbridge: 1 report from child processes not recorded (1 too large to send): the "
        "lines above and the .json files lack what it said")
