"""The fault matrix: a legacy script's sendmessage against a server that fails
at every stage in every way (tests/support/fault_server.py).

Each cell asserts the outcome written in EXPECTED (from tcllib's rules; a
representative cell per stage is also run under tclsh + tcllib), that the
script sees success exactly when the server answered 250 to the final dot,
that no Python traceback shows, and that the cell ends within the scaled
timeout of the stage. docs/RELIABILITY.md shows EXPECTED as a table; a test
checks that it does, and

    python -m tests.test_fault_matrix [--write]

runs the matrix outside pytest, prints the observed table (and with --write
puts it into docs/RELIABILITY.md).
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tclbridge import Interp
from tclbridge.config import BridgeConfig
from tests.support.fault_server import FAULTS, PASSWORD, USERNAME, Fault, FaultServer
from tests.support.tls_contexts import shared_ca

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "RELIABILITY.md"
TABLE_START = "<!-- fault-matrix:start -->"
TABLE_END = "<!-- fault-matrix:end -->"

# tcllib's waits are multiplied by this (TCLBRIDGE_TIMEOUT_SCALE): 600 s -> 1.2 s.
SCALE = 0.002
# Slack per cell on top of the scaled wait: start-up, a loaded CI machine.
MARGIN = 3.0
# tcllib's wait in seconds at each stage (the bridge keeps them). An abort
# adds nothing: it returns at once, as tcllib's.
STAGE_WAIT = {
    "connect": 600, "greeting": 600, "ehlo": 300, "starttls": 300, "auth": 300, "mail": 600,
    "rcpt": 600, "data": 300, "body": 120, "dot": 120, "quit": 120,
}

SCRIPT = r"""
package require mime
package require smtp
lassign $argv servers ports username password bcc padding
set text "Fault matrix.\n.\nLine three.\n"
set encoding {}
if {$padding ne ""} {
    append text [string repeat "0123456789abcdef\n" $padding]
    set encoding {-encoding 8bit}
}
set tok [mime::initialize -canonical text/plain {*}$encoding -string $text]
set opts [list -servers $servers -ports $ports -username $username -password $password \
    -originator sender@example.com -header {From sender@example.com} \
    -header [list To "one@example.com, two@example.com"] -header {Subject {fault matrix}}]
if {$bcc ne ""} {
    lappend opts -header [list Bcc $bcc]
} else {
    lappend opts -recipients "one@example.com, two@example.com"
}
set rc [catch {smtp::sendmessage $tok {*}$opts} result options]
puts "rc: $rc"
puts "result: $result"
puts "errorCode: [expr {$rc == 1 ? [dict get $options -errorcode] : ""}]"
"""

# For tclsh: tcllib's waits scaled down as far as `after` allows (whole
# seconds, at least 1), then the script.
TCLSH_PRELUDE = r"""
package require smtp
set ::timeout_scale [lindex $argv 0]
rename ::smtp::hear ::smtp::hear_unscaled
proc ::smtp::hear {token secs} {
    if {$secs > 0} {
        set secs [expr {max(1, int(ceil($secs * $::timeout_scale)))}]
    }
    ::smtp::hear_unscaled $token $secs
}
set script [lindex $argv 1]
set argv [lrange $argv 2 end]
source $script
"""

ROWS = [
    ("connect", "connect", 1), ("greeting", "greeting", 1), ("EHLO", "ehlo", 1),
    ("STARTTLS", "starttls", 1), ("AUTH", "auth", 1), ("MAIL", "mail", 1),
    ("RCPT 1", "rcpt", 1), ("RCPT 2", "rcpt", 2), ("DATA", "data", 1),
    ("body", "body", 1), ("final dot", "dot", 1), ("QUIT", "quit", 1),
]
ROW_FAULTS = {name: (stage, occurrence) for name, stage, occurrence in ROWS}

OK, SEVEN, ERROR, REFUSED, NA = "ok", "code 7", "Tcl error", "refused", "n/a"
_ALL_FAIL = dict.fromkeys(FAULTS, SEVEN) | {"split": OK, "1mb": OK}
_REFUSED = dict.fromkeys(FAULTS, REFUSED) | {"split": OK, "1mb": OK}
# Outcome per row and fault, from tcllib's rules:
# - no server took the connection (connect, greeting, a failed EHLO): Tcl error;
# - EHLO refused with 5xx (or a reply that reads as 500): HELO, and the mail goes;
# - STARTTLS or AUTH refused: carry on without (tcllib's default policy); a dead
#   connection there fails the MAIL FROM: code 7;
# - MAIL, DATA, the final dot refused or dead: code 7 with the reply;
# - a refused RCPT: code 0 with the refused recipients listed, no DATA;
# - QUIT: the mail went already.
EXPECTED: dict[str, dict[str, str]] = {
    "connect": dict.fromkeys(FAULTS, NA) | {"close": ERROR, "silent": ERROR},
    "greeting": dict.fromkeys(FAULTS, ERROR) | {"split": OK, "1mb": OK},
    "EHLO": dict.fromkeys(FAULTS, OK)
    | {"close": ERROR, "4xx": ERROR, "silent": ERROR, "endless": ERROR},
    "STARTTLS": dict.fromkeys(FAULTS, OK) | {"close": SEVEN, "silent": SEVEN, "endless": SEVEN},
    "AUTH": dict.fromkeys(FAULTS, OK) | {"close": SEVEN, "silent": SEVEN, "endless": SEVEN},
    "MAIL": _ALL_FAIL,
    "RCPT 1": _REFUSED,
    "RCPT 2": _REFUSED,
    "DATA": _ALL_FAIL,
    "body": _ALL_FAIL | {"split": NA, "1mb": NA, "endless": NA},
    "final dot": _ALL_FAIL,
    "QUIT": dict.fromkeys(FAULTS, OK),
}

# -servers {a b}: a fails as given, b is healthy. tcllib moves on only while
# opening the session (connect, greeting, EHLO); after that the failure is
# the script's.
FAILOVER = {
    ("connect", "close"): "failover", ("connect", "silent"): "failover",
    ("greeting", "close"): "failover", ("greeting", "4xx"): "failover",
    ("greeting", "5xx"): "failover", ("greeting", "garbage"): "failover",
    ("greeting", "silent"): "failover", ("EHLO", "close"): "failover",
    ("EHLO", "4xx"): "failover", ("EHLO", "silent"): "failover",
    ("MAIL", "4xx"): SEVEN, ("RCPT 1", "5xx"): REFUSED, ("DATA", "4xx"): SEVEN,
    ("final dot", "close"): SEVEN,
}

# Bcc: the second transaction (the digest) fails; the first was delivered.
# The bridge lists the Bcc recipient as refused (docs/COMPAT.md bcc-failure);
# tcllib reports plain success.
BCC = {
    ("MAIL", 2, "5xx"): REFUSED, ("final dot", 2, "4xx"): REFUSED,
    ("final dot", 2, "close"): REFUSED, ("final dot", 2, "silent"): REFUSED,
}
BCC_STAGE = {"MAIL": "mail", "final dot": "dot"}

# Cells also run under tclsh + tcllib: one or more per stage.
TCLLIB_CELLS = [
    ("connect", "close"), ("connect", "silent"), ("greeting", "4xx"), ("greeting", "1mb"),
    ("EHLO", "5xx"), ("EHLO", "close"), ("STARTTLS", "4xx"), ("STARTTLS", "close"), ("AUTH", "5xx"),
    ("AUTH", "close"), ("MAIL", "5xx"), ("MAIL", "silent"), ("RCPT 1", "4xx"),
    ("RCPT 2", "close"), ("DATA", "garbage"), ("body", "5xx"), ("final dot", "short"),
    ("final dot", "split"), ("final dot", "silent"), ("QUIT", "close"),
]


@dataclass
class Result:
    rc: int
    result: str
    errorcode: str
    output: str
    elapsed: float


@dataclass
class Cell:
    row: str
    fault: str
    failover: bool = False
    bcc_occurrence: int = 0  # the Bcc cells: which MAIL/dot fails

    @property
    def stage(self) -> str:
        if self.bcc_occurrence:
            return BCC_STAGE[self.row]
        return ROW_FAULTS[self.row][0]

    def faults(self) -> list[Fault]:
        if self.bcc_occurrence:
            return [Fault(self.stage, self.fault, self.bcc_occurrence)]
        stage, occurrence = ROW_FAULTS[self.row]
        return [Fault(stage, self.fault, occurrence)]

    def time_limit(self) -> float:
        return SCALE * STAGE_WAIT[self.stage] + MARGIN


def _parse(output: str, elapsed: float) -> Result:
    fields: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in ("rc", "result", "errorCode"):
            fields[key] = value
    return Result(int(fields["rc"]), fields["result"], fields["errorCode"], output, elapsed)


def classify(res: Result, delivered_by_backup: bool = False) -> str:
    if res.rc == 0 and delivered_by_backup:
        return "failover"
    if res.rc == 0:
        return OK if res.result == "" else REFUSED
    return {7: SEVEN, 1: ERROR}.get(res.rc, f"code {res.rc}")


# -- running a cell -----------------------------------------------------------


@contextlib.contextmanager
def serving(cell: Cell) -> Iterator[tuple[FaultServer, FaultServer | None]]:
    main = FaultServer(
        cell.faults(), tls=cell.row == "STARTTLS", auth=cell.row == "AUTH", ca=shared_ca()
    )
    backup = FaultServer() if cell.failover else None
    with main, backup or contextlib.nullcontext():
        yield main, backup


def script_args(cell: Cell, main: FaultServer, backup: FaultServer | None) -> list[str]:
    servers = [main] + ([backup] if backup else [])
    return [
        " ".join(s.host for s in servers),
        " ".join(str(s.port) for s in servers),
        USERNAME,
        PASSWORD,
        "hidden@example.com" if cell.bcc_occurrence else "",
    ]


@contextlib.contextmanager
def captured_output() -> Iterator[list[str]]:
    """Everything written to fds 1 and 2 and to sys.stdout/stderr (Tcl writes
    to the fds, Python to sys.*), as one string once the block ends."""
    sink: list[str] = []
    with tempfile.TemporaryFile() as raw, io.StringIO() as text:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        os.dup2(raw.fileno(), 1)
        os.dup2(raw.fileno(), 2)
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield sink
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            raw.seek(0)
            sink.append(raw.read().decode("utf-8", "replace") + text.getvalue())


def run_bridge(args: list[str], cafile: str) -> Result:
    """The script in a bridge interpreter in this process."""
    with captured_output() as out:
        tcl = Interp(BridgeConfig(timeout_scale=SCALE, cafiles=[cafile]))
        try:
            tcl.call("set", "argv", tuple(args))
            start = time.monotonic()
            tcl.eval(SCRIPT)
            elapsed = time.monotonic() - start
            tcl.eval("flush stdout; flush stderr")
        finally:
            tcl.close()
            del tcl
            # A Tcl interpreter must be freed in the thread that made it; left
            # to a collection that happens to run in a server thread, it aborts.
            gc.collect()
    return _parse(out[0], elapsed)


def run_tclsh(args: list[str], workdir: Path) -> Result:
    """The same script under tclsh + tcllib, with tcllib's waits scaled."""
    script = workdir / "matrix.tcl"
    prelude = workdir / "prelude.tcl"
    script.write_text(SCRIPT)
    prelude.write_text(TCLSH_PRELUDE)
    start = time.monotonic()
    done = subprocess.run(
        ["tclsh", str(prelude), str(SCALE), str(script), *args],
        capture_output=True, text=True, timeout=60, encoding="utf-8", errors="replace",
    )
    return _parse(done.stdout + done.stderr, time.monotonic() - start)


def run_cell(cell: Cell, cafile: str) -> tuple[Result, FaultServer, FaultServer | None]:
    with serving(cell) as (main, backup):
        res = run_bridge(script_args(cell, main, backup), cafile)
    return res, main, backup


def observed(res: Result, backup: FaultServer | None) -> str:
    return classify(res, bool(backup and backup.answered_250()))


def check_cell(
    cell: Cell, res: Result, main: FaultServer, backup: FaultServer | None, expected: str
) -> None:
    outcome = observed(res, backup)
    assert outcome == expected, res.output
    answered = main.answered_250() + (backup.answered_250() if backup else [])
    transactions = 2 if cell.bcc_occurrence else 1
    # Success exactly when every transaction got its 250; never a message twice.
    assert (outcome in (OK, "failover")) == (len(answered) == transactions), res.output
    assert len(answered) <= transactions
    for message in answered:
        assert b"\r\n\r\nFault matrix." in message.data
    if outcome == REFUSED:
        refused = "hidden@example.com" if cell.bcc_occurrence else (
            "two@example.com" if cell.row == "RCPT 2" else "one@example.com")
        assert refused in res.result
    if cell.stage != "connect":
        assert main.connections, "the script never reached the server"
    first = main.connections[0] if main.connections else None
    if cell.row == "STARTTLS" and first is not None:
        # Only a 220 (however delivered) starts TLS; a refusal means plain text.
        assert first.tls == (cell.fault in ("split", "1mb"))
    if cell.row == "AUTH" and outcome == OK:
        # A refused first mechanism falls through to the next one.
        assert first is not None and first.authenticated
    assert "Traceback" not in res.output
    assert res.elapsed <= cell.time_limit(), f"{res.elapsed:.2f} s"


# -- the table ------------------------------------------------------------------

FAULT_TITLES = {
    "close": "close", "4xx": "4xx", "5xx": "5xx", "garbage": "garbage", "short": "too short",
    "split": "1-byte segments", "1mb": "1 MB line", "silent": "silent",
    "endless": "endless reply",
}


def render(
    table: dict[str, dict[str, str]],
    failover: dict[tuple[str, str], str],
    bcc: dict[tuple[str, int, str], str],
) -> str:
    lines = [
        "| stage | " + " | ".join(FAULT_TITLES[f] for f in FAULTS) + " |",
        "|---|" + "---|" * len(FAULTS),
    ]
    for row, cells in table.items():
        lines.append(f"| {row} | " + " | ".join(cells[f] for f in FAULTS) + " |")
    lines += ["", "`-servers {a b}`, a failing as shown, b healthy:", "",
              "| a fails at | fault | outcome |", "|---|---|---|"]
    lines += [f"| {row} | {FAULT_TITLES[f]} | {out} |" for (row, f), out in failover.items()]
    lines += ["", "Bcc: the second transaction (the Bcc digest) fails:", "",
              "| stage | fault | outcome |", "|---|---|---|"]
    lines += [f"| {row} (Bcc) | {FAULT_TITLES[f]} | {out} |" for (row, _, f), out in bcc.items()]
    return "\n".join(lines)


def doc_table() -> str:
    text = DOC.read_text()
    return text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()


# -- the tests ------------------------------------------------------------------

MATRIX = [
    pytest.param(Cell(row, fault), EXPECTED[row][fault], id=f"{row}-{fault}")
    for row, _, _ in ROWS
    for fault in FAULTS
    if EXPECTED[row][fault] != NA
]
FAILOVER_CELLS = [
    pytest.param(Cell(row, fault, failover=True), out, id=f"{row}-{fault}")
    for (row, fault), out in FAILOVER.items()
]
BCC_CELLS = [
    pytest.param(Cell(row, fault, bcc_occurrence=n), out, id=f"{row}-{n}-{fault}")
    for (row, n, fault), out in BCC.items()
]


@pytest.mark.parametrize(("cell", "expected"), MATRIX)
def test_matrix(cell: Cell, expected: str, cafile: str) -> None:
    check_cell(cell, *run_cell(cell, cafile), expected)


@pytest.mark.parametrize(("cell", "expected"), FAILOVER_CELLS)
def test_failover(cell: Cell, expected: str, cafile: str) -> None:
    res, main, backup = run_cell(cell, cafile)
    check_cell(cell, res, main, backup, expected)
    assert backup is not None
    # b is used only when a failed while opening the session.
    assert bool(backup.connections) == (expected == "failover")


@pytest.mark.parametrize(("cell", "expected"), BCC_CELLS)
def test_bcc_transaction_failure_is_reported(cell: Cell, expected: str, cafile: str) -> None:
    check_cell(cell, *run_cell(cell, cafile), expected)


TCLLIB = shutil.which("tclsh") is not None


def _tcllib_cells() -> list[object]:
    cells = [pytest.param(Cell(r, f), id=f"{r}-{f}") for r, f in TCLLIB_CELLS]
    cells += [pytest.param(Cell(r, f, failover=True), id=f"failover-{r}-{f}")
              for r, f in [("greeting", "4xx"), ("EHLO", "close"), ("MAIL", "4xx")]]
    return cells


@pytest.mark.skipif(not TCLLIB, reason="tclsh with tcllib is not installed")
@pytest.mark.parametrize("cell", _tcllib_cells())
def test_tcllib_agrees(cell: Cell, cafile: str, tmp_path: Path) -> None:
    """tcllib, same script, same faults: the same outcome and the same result
    (but for the text of a refused connection, COMPAT connect-error-text)."""
    with serving(cell) as (main, backup):
        reference = run_tclsh(script_args(cell, main, backup), tmp_path)
    tcllib_outcome = observed(reference, backup)
    expected = FAILOVER[(cell.row, cell.fault)] if cell.failover else EXPECTED[cell.row][cell.fault]
    assert tcllib_outcome == expected, reference.output
    res, _, _ = run_cell(cell, cafile)
    if (cell.row, cell.fault) != ("connect", "close"):
        assert (res.rc, res.result) == (reference.rc, _bridge_wording(reference.result))


def _bridge_wording(result: str) -> str:
    """tcllib's write-error text as the bridge words it (COMPAT write-error-text)."""
    return re.sub(r'error flushing "sock\w+"', "error writing to server", result)


@pytest.mark.skipif(not TCLLIB, reason="tclsh with tcllib is not installed")
def test_tcllib_reports_failed_bcc_as_success(tmp_path: Path) -> None:
    """What docs/COMPAT.md bcc-failure fixes: tcllib says plain success though
    the Bcc transaction's final dot was refused."""
    cell = Cell("final dot", "4xx", bcc_occurrence=2)
    with serving(cell) as (main, backup):
        reference = run_tclsh(script_args(cell, main, backup), tmp_path)
    assert (reference.rc, reference.result) == (0, "")
    assert len(main.answered_250()) == 1


def test_server_that_stops_reading_a_large_body(cafile: str) -> None:
    """A 16 MB body to a server that stopped reading fills the socket buffers:
    the write itself must time out (tcllib's -maxsecs, scaled), code 7."""
    cell = Cell("body", "silent")
    with serving(cell) as (main, _):
        res = run_bridge([*script_args(cell, main, None), str(1 << 20)], cafile)
    assert (res.rc, observed(res, None)) == (7, SEVEN)
    assert "read from server timed out" in res.result
    assert main.answered_250() == []
    assert "Traceback" not in res.output
    assert res.elapsed <= cell.time_limit()


def test_reply_line_limit(cafile: str) -> None:
    """A reply line past 1 MiB is a dead connection, not unbounded memory."""
    cell = Cell("greeting", "1mb")
    with FaultServer([Fault("greeting", "1mb", length=2 << 20)]) as main:
        res = run_bridge(script_args(cell, main, None), cafile)
    assert (res.rc, res.result) == (1, "reply line longer than 1048576 bytes")
    assert "Traceback" not in res.output


# -- the fault server does what the table's columns say ------------------------


def _greeting_chunks(fault: str, **extra: object) -> list[bytes]:
    with FaultServer([Fault("greeting", fault, **extra)]) as srv:  # type: ignore[arg-type]
        with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
            chunks = []
            while not b"".join(chunks).endswith(b"\r\n"):
                data = sock.recv(1 << 21)
                if not data:
                    break
                chunks.append(data)
    return chunks


def test_fault_server_reply_faults() -> None:
    assert b"".join(_greeting_chunks("4xx")).startswith(b"421 ")
    assert b"".join(_greeting_chunks("5xx")).startswith(b"554 ")
    assert b"".join(_greeting_chunks("garbage")) == b"HTTP/1.1 400 Bad Request\r\n"
    assert b"".join(_greeting_chunks("short")) == b"25\r\n"
    assert _greeting_chunks("close") == []
    split = _greeting_chunks("split")
    assert b"".join(split).startswith(b"220 ") and len(split) > 10
    long = b"".join(_greeting_chunks("1mb", length=123_456))
    assert long.startswith(b"220 ") and long.count(b"x") >= 123_456


def test_fault_server_connect_faults() -> None:
    with FaultServer([Fault("connect", "close")]) as srv:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((srv.host, srv.port), timeout=5)
    with FaultServer([Fault("connect", "silent")]) as srv:
        with pytest.raises(TimeoutError):
            socket.create_connection((srv.host, srv.port), timeout=0.3)


def test_fault_server_lost_reply_accepts_without_250() -> None:
    with FaultServer([Fault("dot", "lost-reply")]) as srv:
        with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
            sock.sendall(b"EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nhi\r\n.\r\n")
            received = b""
            while data := sock.recv(65536):
                received += data
    assert b"354 " in received and b"message accepted" not in received
    (transaction,) = srv.transactions()
    assert (transaction.accepted, transaction.replied_250) == (True, False)
    assert transaction.data == b"hi\r\n"


def test_doc_shows_the_matrix() -> None:
    assert doc_table() == render(EXPECTED, FAILOVER, BCC)


def main(argv: list[str]) -> int:
    """Run every cell, print the observed table; --write puts it in the doc."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ca.pem"
        shared_ca().cert_pem.write_to_path(str(path))

        def outcome(cell: Cell) -> str:
            res, _, backup = run_cell(cell, str(path))
            return observed(res, backup)

        table = {row: {f: NA if EXPECTED[row][f] == NA else outcome(Cell(row, f))
                       for f in FAULTS} for row, _, _ in ROWS}
        failover = {key: outcome(Cell(*key, failover=True)) for key in FAILOVER}
        bcc = {(r, n, f): outcome(Cell(r, f, bcc_occurrence=n)) for r, n, f in BCC}
    text = render(table, failover, bcc)
    print(text)
    if "--write" in argv:
        doc = DOC.read_text()
        head, rest = doc.split(TABLE_START, 1)
        tail = rest.split(TABLE_END, 1)[1]
        DOC.write_text(f"{head}{TABLE_START}\n{text}\n{TABLE_END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
