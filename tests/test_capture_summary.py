"""The summary `run --capture` prints on stderr: per message when, for which
of the script's servers, how big, and what the site policy refused; a line
when nothing was captured; the same after SIGINT or SIGTERM, ending as a
killed tclsh does.

Real runs: `python -m tclbridge run` in its private network namespace, real
child bridge processes, real signals, tclsh for the reference exit status.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tclbridge import sandbox
from tclbridge.capture import Capture, readable_size
from tclbridge.journal import (
    JOURNAL_ENV,
    MAX_LINE,
    MAX_RECORDS,
    ConnectionJournal,
    ConnectionRecord,
    JournalClient,
)
from tclbridge.journal_service import JournalService
from tests.support.hermetic import bridge_env, numbered, tclbridge
from tests.support.journal_peers import own_connections
from tests.support.processes import read_until
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("tclsh") is None,
    reason="needs Linux namespaces and tclsh")

POLICY = '[recipients]\ndeny_domains = ["rivals.example"]\n'
DENIED = "domain rivals.example is in deny_domains"
TIME = re.compile(r"  at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d)")
TLS_VERSION = re.compile(r"TLSv1\.[23]")
STARTTLS = ", over TLS (STARTTLS, TLSv1.x)"


def send(servers: str, to: str, *options: str, subject: str = "") -> str:
    """A Tcl sendmessage call from ops@example.com."""
    header = f" -header {{Subject {{{subject}}}}}" if subject else ""
    return (f"smtp::sendmessage $tok -servers {servers} {' '.join(options)} "
            f"-header {{From ops@example.com}} -header {{To {{{to}}}}}{header}\n")


def script(path: Path, *sends: str, body: str = "hello\n") -> Path:
    path.write_text("package require smtp\n"
                    f"set tok [mime::initialize -canonical text/plain -string {{{body}}}]\n"
                    + "".join(f"puts [{s.strip()}]\n" for s in sends))
    return path


def timeless(lines: list[str]) -> list[str]:
    """The lines with the time and the negotiated TLS version (the libraries'
    choice) replaced."""
    return [TLS_VERSION.sub("TLSv1.x", TIME.sub("  at TIME", line)) for line in lines]


# -- per message ----------------------------------------------------------------------


def test_each_message_says_when_for_which_server_and_how_big(tmp_path: Path) -> None:
    body = "quarterly figures\n" * 90
    script(tmp_path / "report.tcl", send("{dead.example mail.example} -ports {2525 587}",
                                         "boss@example.com", subject="report"), body=body)
    # Local time with its offset: Kathmandu's +05:45 cannot be mistaken for UTC.
    env = bridge_env(TZ="Asia/Kathmandu")
    env.pop("TCLBRIDGE_POLICY", None)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    done = tclbridge("run", "--capture", "cap", "report.tcl", cwd=tmp_path, env=env)
    after = datetime.now(timezone.utc)
    assert done.returncode == 0, done.stderr
    cap = tmp_path / "cap"
    assert numbered(cap) == ["0001.eml", "0001.json"]
    size = (cap / "0001.eml").stat().st_size
    assert 1000 < size < 1_000_000  # shown in kB, with one decimal
    lines = done.stderr.splitlines()
    assert lines[0] == (f"captured 0001.eml: from <ops@example.com> to <boss@example.com>, "
                        f"{size / 1000:.1f} kB, Subject: report")
    # The capture stood in for the first server; the second would only have
    # been tried had the first failed.
    assert timeless(lines)[1] == (
        "  at TIME, for dead.example:2525 (then mail.example:587)" + STARTTLS)
    assert lines[2:] == [f"tclbridge: 1 message captured in {cap}"]
    shown = datetime.fromisoformat(TIME.match(lines[1]).group(1))
    assert shown.utcoffset() == timedelta(hours=5, minutes=45)
    assert before <= shown <= after
    record = json.loads((cap / "0001.json").read_text())
    assert record["size"] == size
    assert record["requested_server"] == "dead.example:2525"
    assert record["requested_servers"] == ["dead.example:2525", "mail.example:587"]
    saved = datetime.fromisoformat(record["captured_at"])
    assert saved.utcoffset() == timedelta(hours=5, minutes=45)
    assert before <= saved <= after
    assert "policy" not in record  # no site policy


def test_a_child_bridge_run_shows_its_servers_and_policy_in_the_parents_summary(
        tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(POLICY)
    script(tmp_path / "child.tcl",
           send("{child1.example child2.example} -ports {2525 25}",
                "c@example.com, x@rivals.example", "-atleastone 1", subject="child"),
           send("child3.example", "y@rivals.example"))
    (tmp_path / "parent.tcl").write_text(
        f"puts [exec {{{sys.executable}}} -m tclbridge run child.tcl]\n"
        "package require smtp\n"
        "set tok [mime::initialize -canonical text/plain -string parent]\n"
        f"puts [{send('parent.example', 'p@example.com', subject='parent').strip()}]\n")
    done = tclbridge("run", "--capture", "cap", "parent.tcl", cwd=tmp_path,
                     env=bridge_env(TCLBRIDGE_POLICY=str(tmp_path / "policy.toml")))
    assert done.returncode == 0, done.stderr
    cap = tmp_path / "cap"
    assert numbered(cap) == ["0001.eml", "0001.json", "0002.json", "0003.eml", "0003.json"]
    lines = timeless(done.stderr.splitlines())
    assert [re.sub(r", \d+ bytes", "", line) for line in lines] == [
        "captured 0001.eml: from <ops@example.com> to <c@example.com>, Subject: child",
        "  at TIME, for child1.example:2525 (then child2.example:25)" + STARTTLS,
        f"  policy refused <x@rivals.example>: {DENIED}",
        "not sent 0002.json: the site policy refused every recipient (from <ops@example.com>)",
        "  at TIME, for child3.example:25",
        f"  policy refused <y@rivals.example>: {DENIED}",
        "captured 0003.eml: from <ops@example.com> to <p@example.com>, Subject: parent",
        "  at TIME, for parent.example:25" + STARTTLS,
        f"tclbridge: 2 messages captured in {cap}",
    ]
    child = json.loads((cap / "0001.json").read_text())
    assert child["requested_servers"] == ["child1.example:2525", "child2.example:25"]
    assert child["policy"] == [
        {"rule": "recipients", "decision": "allowed <c@example.com>"},
        {"rule": "recipients", "decision": f"refused <x@rivals.example>: {DENIED}"},
    ]
    assert child["policy_refused"] == [{"recipient": "x@rivals.example", "reason": DENIED}]
    unsent = json.loads((cap / "0002.json").read_text())
    assert unsent["file"] is None and unsent["requested_servers"] == ["child3.example:25"]
    assert unsent["policy"][-1]["decision"] == "every recipient refused: no connection made"
    # The child's word, labelled: its pid, and whether the connection it named
    # was found among its sockets (an unsent record names none).
    pid = child["reported_by_child"]["pid"]
    assert isinstance(pid, int) and pid > 0
    assert child["reported_by_child"] == {"pid": pid, "connection_checked": True}
    assert unsent["reported_by_child"] == {"pid": pid, "connection_checked": False}
    assert "reported_by_child" not in json.loads((cap / "0003.json").read_text())


def test_policy_refusals_are_listed_under_each_send(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(POLICY)
    script(tmp_path / "s.tcl",
           send("mail.example", "a@example.com, b@rivals.example", "-atleastone 1"),
           # Without -atleastone a refusal means RSET: nothing is sent.
           send("mail.example", "c@example.com, d@rivals.example"),
           send("mail.example", "e@rivals.example"))
    done = tclbridge("run", "--policy", "policy.toml", "--capture", "cap", "s.tcl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    cap = tmp_path / "cap"
    assert numbered(cap) == ["0001.eml", "0001.json", "0002.json"]
    assert [re.sub(r", \d+ bytes", "", line)
            for line in timeless(done.stderr.splitlines())] == [
        "captured 0001.eml: from <ops@example.com> to <a@example.com>",
        "  at TIME, for mail.example:25" + STARTTLS,
        f"  policy refused <b@rivals.example>: {DENIED}",
        "no message: a connection delivered nothing; it ended with: RCPT TO:<c@example.com>, "
        "RSET, QUIT",
        "  at TIME, for mail.example:25",
        f"  policy refused <d@rivals.example>: {DENIED}",
        "not sent 0002.json: the site policy refused every recipient (from <ops@example.com>)",
        "  at TIME, for mail.example:25",
        f"  policy refused <e@rivals.example>: {DENIED}",
        f"tclbridge: 1 message captured in {cap}",
    ]
    sent = json.loads((cap / "0001.json").read_text())
    assert sent["policy_refused"] == [{"recipient": "b@rivals.example", "reason": DENIED}]


def test_mail_the_bridge_did_not_send_says_so(tmp_path: Path) -> None:
    (tmp_path / "piped.tcl").write_text(
        'exec sendmail -f ops@example.com -oi to@example.com << "Subject: piped\\n\\nhi\\n"\n')
    done = tclbridge("run", "--capture", "cap", "piped.tcl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [re.sub(r", \d+ bytes", "", line) for line in timeless(done.stderr.splitlines())] == [
        "captured 0001.eml: from <ops@example.com> to <to@example.com>, Subject: piped",
        "  at TIME, not sent by the bridge's smtp (sendmail, or another client), in plain text",
        f"tclbridge: 1 message captured in {tmp_path / 'cap'}",
    ]
    assert "requested_servers" not in json.loads((tmp_path / "cap/0001.json").read_text())


def test_nothing_captured_says_so_and_where(tmp_path: Path) -> None:
    (tmp_path / "quiet.tcl").write_text("puts {no mail today}\n")
    done = tclbridge("run", "--capture", "cap", "quiet.tcl", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == "no mail today\n"
    assert done.stderr == f"tclbridge: nothing captured in {tmp_path / 'cap'}\n"


# -- after a signal -------------------------------------------------------------------

# Sends one message, then starts a second by hand and stops halfway through
# its DATA, says it is ready (its pid in a file) and waits in the event loop
# or, with the argument "busy", in a loop that never returns to Python.
SIGNALLED = r"""
package require smtp
set tok [mime::initialize -canonical text/plain -string "before the signal\n"]
smtp::sendmessage $tok -servers mail.example -header {From ops@example.com} \
    -header {To a@example.com} -header {Subject first}
lassign [split $env(TCLBRIDGE_CAPTURE_SERVER) :] host port
set s [socket $host $port]
fconfigure $s -translation crlf -buffering line
gets $s
foreach line {"EHLO raw" "MAIL FROM:<ops@example.com>" "RCPT TO:<b@example.com>" DATA} {
    puts $s $line
    while {[gets $s reply] >= 0 && [string index $reply 3] eq "-"} {}
}
puts -nonewline $s "Subject: half\n\nthe first half"
flush $s
set f [open ready.tmp w]; puts $f [pid]; close $f; file rename ready.tmp ready
if {[lindex $argv 0] eq "busy"} { while 1 {} }
vwait forever
"""

# The same waits under tclsh, for the exit status a shell sees.
TCLSH_WAITS = r"""
set f [open ready.tmp w]; puts $f [pid]; close $f; file rename ready.tmp ready
if {[lindex $argv 0] eq "busy"} { while 1 {} }
vwait forever
"""


def signalled_status(argv: list[str], cwd: Path, signum: signal.Signals,
                     before: Callable[[], None] = lambda: None,
                     ignored: bool = False) -> tuple[str, str]:
    """Run `argv` under bash, send `signum` to it once it is ready, and return
    bash's "status=N" line (after what the program printed) and the
    program's stderr (not bash's own, such as "Terminated"). `ignored`:
    the program starts with `signum` ignored (`trap '' SIG`)."""
    ready = cwd / "ready"
    ready.unlink(missing_ok=True)
    trap = f"trap '' {signum.name.removeprefix('SIG')}; " if ignored else ""
    proc = subprocess.Popen(["bash", "-c", trap + '"$@" 2>program.err; echo "status=$?"', "bash",
                             *argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=bridge_env())
    try:
        assert wait_until(ready.exists, timeout=60), "the script never got ready"
        before()
        os.kill(int(ready.read_text()), signum)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    return out.strip(), (cwd / "program.err").read_text()


SELF_ENDING = r"""
set f [open ready.tmp w]; puts $f [pid]; close $f; file rename ready.tmp ready
after 1500 {set done 1}
vwait done
puts done
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("bridge", [[], ["--capture", "cap"]], ids=["run", "capture"])
def test_a_signal_ignored_at_start_stays_ignored(
        tmp_path: Path, signum: signal.Signals, bridge: list[str]) -> None:
    """Started with the signal ignored (`nohup`, `trap '' INT`), tclsh goes on;
    so does the bridge, with or without capture."""
    (tmp_path / "ends.tcl").write_text(SELF_ENDING)
    reference, _ = signalled_status(["tclsh", "ends.tcl"], tmp_path, signum, ignored=True)
    assert reference == "done\nstatus=0"
    status, err = signalled_status(
        [sys.executable, "-m", "tclbridge", "run", *bridge, "ends.tcl"], tmp_path, signum,
        ignored=True)
    assert status == reference, err


@pytest.mark.parametrize(("wait", "signum"), [
    ("vwait", signal.SIGINT), ("vwait", signal.SIGTERM), ("busy", signal.SIGINT)])
def test_a_signal_prints_the_summary_and_ends_as_tclsh_would(
        tmp_path: Path, wait: str, signum: signal.Signals) -> None:
    (tmp_path / "waits.tcl").write_text(TCLSH_WAITS)
    reference, _ = signalled_status(["tclsh", "waits.tcl", wait], tmp_path, signum)
    assert reference == f"status={128 + signum}"  # what a shell sees of a killed tclsh

    (tmp_path / "signalled.tcl").write_text(SIGNALLED)
    cap = tmp_path / "cap"

    def mid_message() -> None:
        # The second message is on its way into the capture directory.
        assert wait_until(lambda: any(p.name.startswith(".incoming") for p in cap.iterdir()))

    status, err = signalled_status(
        [sys.executable, "-m", "tclbridge", "run", "--capture", "cap", "signalled.tcl", wait],
        tmp_path, signum, before=mid_message)
    assert status == reference, err
    lines = timeless(err.splitlines())
    assert [re.sub(r", \d+ bytes", "", line) for line in lines[:2]] == [
        "captured 0001.eml: from <ops@example.com> to <a@example.com>, Subject: first",
        "  at TIME, for mail.example:25" + STARTTLS,
    ]
    assert re.fullmatch(r"no message: a connection from 127\.0\.0\.1:\d+ delivered nothing; it "
                        r"ended with: MAIL FROM:<ops@example\.com>, RCPT TO:<b@example\.com>, "
                        r"DATA", lines[2]), lines[2]
    assert lines[3:] == [f"tclbridge: stopped by {signum.name}; 1 message captured in {cap}"]
    # Nothing half-written: the message cut off left no file, not even a temp one.
    assert sorted(p.name for p in cap.iterdir()) == ["0001.eml", "0001.json"]


def test_a_signal_in_tks_main_loop_prints_the_summary(tmp_path: Path, display: str) -> None:
    # The script ends; as under wish, Tk's main loop keeps the tool running.
    (tmp_path / "tool.tcl").write_text(
        "package require Tk\npackage require smtp\n"
        "set tok [mime::initialize -canonical text/plain -string hi]\n"
        f"{send('mail.example', 'a@example.com', subject='from the tool').strip()}\n"
        "button .b -text Send\npack .b\n"
        "set f [open ready.tmp w]; puts $f [pid]; close $f; file rename ready.tmp ready\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tclbridge", "run", "--capture", "cap", "tool.tcl"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True, env=bridge_env(DISPLAY=display))
    try:
        assert wait_until((tmp_path / "ready").exists, timeout=60)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGINT, err
    assert [re.sub(r", \d+ bytes", "", line) for line in timeless(err.splitlines())] == [
        # Under capture the tool's windows are on a private display.
        "tclbridge: under --capture the script's windows are on a private X display and not "
        f"shown; --allow-display shows them on {display}, outside the sandbox",
        "captured 0001.eml: from <ops@example.com> to <a@example.com>, Subject: from the tool",
        "  at TIME, for mail.example:25" + STARTTLS,
        f"tclbridge: stopped by SIGINT; 1 message captured in {tmp_path / 'cap'}",
    ]


def test_a_second_signal_does_not_wait_for_the_summary(tmp_path: Path) -> None:
    # A summary longer than the stderr pipe holds, and a reader that stops
    # reading: the summary blocks until a second Ctrl-C ends the run.
    subject = "x" * 4000
    (tmp_path / "many.tcl").write_text(
        "package require smtp\n"
        "set tok [mime::initialize -canonical text/plain -string hi]\n"
        "for {set i 0} {$i < 32} {incr i} {\n"
        f"    {send('mail.example', 'a@example.com', subject=subject).strip()}\n"
        "}\n"
        "set f [open ready.tmp w]; puts $f [pid]; close $f; file rename ready.tmp ready\n"
        "vwait forever\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tclbridge", "run", "--capture", "cap", "many.tcl"],
        cwd=tmp_path, stderr=subprocess.PIPE, bufsize=0, env=bridge_env())
    try:
        assert wait_until((tmp_path / "ready").exists, timeout=60)
        proc.send_signal(signal.SIGINT)
        assert read_until(proc.stderr, b"captured 0001.eml").endswith(b"captured 0001.eml")
        assert proc.poll() is None  # still writing the summary
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == -signal.SIGINT
    finally:
        proc.kill()
        proc.wait()


# -- the pieces -----------------------------------------------------------------------


@pytest.mark.parametrize(("size", "shown"), [
    (0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1000, "1.0 kB"), (1234, "1.2 kB"),
    (999_949, "999.9 kB"), (999_950, "1.0 MB"), (1_250_000, "1.2 MB"),
    (3_000_000_000, "3.0 GB"), (10**16, "10000.0 TB"),
])
def test_readable_size(size: int, shown: str) -> None:
    assert readable_size(size) == shown


def test_unprintable_characters_are_shown_escaped(tmp_path: Path) -> None:
    with Capture(tmp_path / "out") as cap:
        with smtplib.SMTP(cap._server.host, cap._server.port, timeout=5) as client:
            client.sendmail("a@x", ["b@y"], b"Subject: \x1b[2Jgone\x07\r\n\r\nx\r\n")
    line = cap.summary_lines()[0]
    assert line.endswith("Subject: \\x1b[2Jgone\\x07")
    assert "\x1b" not in line and "\x07" not in line


def test_names_are_escaped_as_check_escapes_them(tmp_path: Path) -> None:
    """One escaping for the summary and check's fleet table: a DIR whose name
    is not UTF-8 shows its bytes as \\xNN (not as Python's surrogate escape),
    a C1 control (CSI) in a Subject is escaped."""
    directory = tmp_path / os.fsdecode(b"out\xff")
    with Capture(directory) as cap:
        with smtplib.SMTP(cap._server.host, cap._server.port, timeout=5) as client:
            client.sendmail("a@x", ["b@y"], b"Subject: =?utf-8?q?=C2=9B31mred?=\r\n\r\nx\r\n")
    assert cap.summary_lines()[0].endswith("Subject: \\x9b31mred")
    assert cap.closing_line() == f"tclbridge: 1 message captured in {tmp_path}/out\\xff"


def test_the_journal_service_takes_only_well_formed_requests(tmp_path: Path) -> None:
    records = ConnectionJournal()
    service = JournalService(records, str(tmp_path / "j.sock"))
    try:
        with socket.socket(socket.AF_UNIX) as sock, own_connections() as [p]:
            sock.settimeout(10)
            sock.connect(service.path)
            answers = sock.makefile("rb")

            def ask(line: bytes) -> bytes:
                sock.sendall(line)
                return answers.readline()

            good = {"servers": ["mail.example:25"], "policy": None, "refused": []}
            assert ask(b"not json\n") == b"error\n"
            assert ask(json.dumps({"op": "connected", "peer": 7, "record": good}).encode()
                       + b"\n") == b"error\n"
            assert ask(json.dumps({"op": "connected", "peer": p, "record": {
                "servers": "mail.example:25"}}).encode() + b"\n") == b"error\n"
            assert ask(json.dumps({"op": "add", "peer": p, "policy": [{"rule": "x"}],
                                   "refused": []}).encode() + b"\n") == b"error\n"
            assert ask(json.dumps({"op": "drop tables"}).encode() + b"\n") == b"error\n"
            assert records.for_peer(p) is None
            assert ask(json.dumps({"op": "connected", "peer": p, "record": good}).encode()
                       + b"\n") == b"ok\n"
            assert records.for_peer(p) == ConnectionRecord(["mail.example:25"])
            # An oversized request ends the connection, unread.
            assert ask(b"x" * (MAX_LINE + 10) + b"\n") == b"error\n"
            assert answers.readline() == b""
    finally:
        service.close()
    assert not os.path.exists(service.path)


def test_the_journal_forgets_the_oldest_connections() -> None:
    records = ConnectionJournal()
    for n in range(MAX_RECORDS + 5):
        records.connected(f"127.0.0.1:{n}", ConnectionRecord([f"s{n}:25"]))
    assert records.for_peer("127.0.0.1:4") is None
    assert records.for_peer("127.0.0.1:5") is not None
    assert records.for_peer(f"127.0.0.1:{MAX_RECORDS + 4}") is not None


def test_a_child_without_its_parent_sends_anyway(tmp_path: Path) -> None:
    client = JournalClient(str(tmp_path / "nobody.sock"), timeout=1)
    client.connected("127.0.0.1:1", ConnectionRecord(["mail.example:25"], [], []))
    client.noted("127.0.0.1:1", [{"rule": "tls", "decision": "x"}])  # quietly dropped


def test_children_never_inherit_a_journal_from_elsewhere() -> None:
    endpoint = sandbox.CaptureEndpoint(("127.0.0.1", 25))
    env = sandbox.child_env(endpoint, None, base={JOURNAL_ENV: "/elsewhere/j.sock"})
    assert JOURNAL_ENV not in env
    env = sandbox.child_env(endpoint, None, base={}, journal="/ours/j.sock")
    assert env[JOURNAL_ENV] == "/ours/j.sock"
