"""Nothing lost, nothing doubled: 20 legacy scripts at once (20 `tclbridge run`
processes), each sending 200 messages to one fault-injecting server.

A seeded share of the connections fails: 4xx/5xx at RCPT, DATA and the final
dot, the connection closed at MAIL, RCPT, DATA or the dot, short delays, and
"lost-reply" (the server accepts the message, then the connection drops
before the 250: the ambiguity SMTP cannot avoid). Each script prints one
line per message: "ID ok", or "ID fail RC RESULT".

What the test holds the bridge to (docs/RELIABILITY.md, "Nothing lost"):
- every message has exactly one outcome line in its script's output;
- a message reported ok was answered 250 after its final dot exactly once,
  and no other transaction of the server carries it (nothing doubled);
- a message reported failed never got a 250; the server may still have
  accepted it only when the connection dropped before the 250 was written
  (lost-reply): the test counts those as ambiguous, and requires each one
  to be a lost-reply fault;
- no Python traceback, every script exits 0, and the whole run stays bounded.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.support.fault_server import Fault, FaultServer

SCRIPTS = 20
MESSAGES = 200
SEED = 20261128
# tcllib's waits x 0.05: 6 s for the final dot, 15 s per command. Far above
# what 20 scripts on a loaded 2-core loopback need, so a timeout would be a
# finding, not noise (no fault below waits for one).
TIMEOUT_SCALE = "0.05"
RUN_LIMIT = 240  # seconds for the whole run, a hang guard; it takes far less
FAULT_SHARE = 0.3
FAULT_MIX = [
    Fault("rcpt", "4xx"), Fault("rcpt", "5xx"), Fault("data", "4xx"), Fault("data", "5xx"),
    Fault("dot", "4xx"), Fault("dot", "5xx"), Fault("mail", "close"), Fault("rcpt", "close"),
    Fault("data", "close"), Fault("dot", "close"), Fault("dot", "lost-reply"),
    Fault("greeting", "delay", delay=0.05), Fault("dot", "delay", delay=0.05),
]

SCRIPT = r"""
package require mime
package require smtp
lassign $argv worker count host port
for {set i 0} {$i < $count} {incr i} {
    set id "w$worker-m$i"
    set tok [mime::initialize -canonical text/plain -string "Load message $id.\n"]
    set rc [catch {
        smtp::sendmessage $tok -servers $host -ports $port \
            -originator load@example.com -recipients "r$worker@example.com" \
            -header {From load@example.com} -header [list To "r$worker@example.com"] \
            -header [list Subject "load $id"]
    } result]
    mime::finalize $tok
    if {$rc == 0 && $result eq ""} {
        puts "$id ok"
    } else {
        puts "$id fail $rc [list $result]"
    }
}
"""

SUBJECT = re.compile(rb"\r\nSubject: load (w\d+-m\d+)\r\n")


def connection_faults(index: int) -> list[Fault]:
    """The seeded fault (or none) of the index-th connection."""
    rng = random.Random(SEED * 1_000_003 + index)
    return [rng.choice(FAULT_MIX)] if rng.random() < FAULT_SHARE else []


def message_id(data: bytes) -> str:
    match = SUBJECT.search(b"\r\n" + data)
    assert match, data[:300]
    return match.group(1).decode()


def test_twenty_scripts_nothing_lost_nothing_doubled(tmp_path: Path) -> None:
    script = tmp_path / "load.tcl"
    script.write_text(SCRIPT)
    env = {**os.environ, "TCLBRIDGE_TIMEOUT_SCALE": TIMEOUT_SCALE}
    started = time.monotonic()
    with FaultServer(connection_faults) as server:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tclbridge", "run", str(script),
                 str(n), str(MESSAGES), server.host, str(server.port)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
            )
            for n in range(SCRIPTS)
        ]
        outputs = []
        for proc in procs:
            left = max(1.0, RUN_LIMIT - (time.monotonic() - started))
            try:
                out, err = proc.communicate(timeout=left)
            except subprocess.TimeoutExpired:
                for p in procs:
                    p.kill()
                raise
            outputs.append((proc.returncode, out, err))
    elapsed = time.monotonic() - started

    outcomes: dict[str, str] = {}
    for n, (code, out, err) in enumerate(outputs):
        assert code == 0, err
        assert "Traceback" not in out + err
        lines = out.splitlines()
        assert len(lines) == MESSAGES, f"script {n}: {len(lines)} outcome lines"
        for line in lines:
            msg_id, verdict = line.split(" ", 2)[:2]
            assert msg_id not in outcomes
            outcomes[msg_id] = verdict
    expected_ids = {f"w{n}-m{i}" for n in range(SCRIPTS) for i in range(MESSAGES)}
    assert set(outcomes) == expected_ids

    answered = Counter(message_id(t.data) for t in server.transactions() if t.replied_250)
    accepted = Counter(message_id(t.data) for t in server.transactions() if t.accepted)
    lost_replies = {
        message_id(t.data) for t in server.transactions() if t.accepted and not t.replied_250
    }
    ok = {m for m, v in outcomes.items() if v == "ok"}
    failed = expected_ids - ok

    for msg_id in ok:
        assert answered[msg_id] == 1 and accepted[msg_id] == 1, msg_id
    for msg_id in failed:
        assert answered[msg_id] == 0, f"{msg_id}: answered 250 but reported failed"
        assert accepted[msg_id] <= 1
    ambiguous = {m for m in failed if accepted[m]}
    assert ambiguous == lost_replies
    assert sum(answered.values()) == len(ok)

    # The faults really happened, each kind at least once.
    hit = Counter(f for c in server.connections for f in c.faults_hit)
    assert set(hit) == set(FAULT_MIX)
    assert len(server.connections) >= SCRIPTS * MESSAGES
    print(
        f"\n{SCRIPTS * MESSAGES} messages in {elapsed:.1f} s: {len(ok)} ok, {len(failed)} "
        f"reported failed ({len(ambiguous)} of them accepted before the connection dropped)"
    )
