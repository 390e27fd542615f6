"""`python -m bench` in a tiny configuration, so the benchmark cannot rot
unnoticed, and the discard sink it measures against. Nothing here is timed:
the numbers are only checked to exist. The benchmark runs as the user runs
it, in a child process (tests do not import bench)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.discard_sink import DiscardSink
from tests.support.tcl_programs import HAVE_TCLSH

# Where `python -m bench...` finds the package, whatever the caller's cwd.
ROOT = Path(__file__).resolve().parent.parent
TINY = ["--messages", "3", "--sizes", "64K", "--rounds", "1", "--startup-runs", "1",
        "--capacity-mb", "2", "--capacity-messages", "5", "--no-plot"]


@pytest.mark.skipif(not HAVE_TCLSH, reason="needs tclsh and tcllib")
def test_tiny_bench_reports_all_three_implementations(tmp_path: Path) -> None:
    raw = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *TINY, "--json", str(raw)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(raw.read_text())
    labels = results["labels"]
    assert len(labels) == 3
    # (a) 3 messages and (b) one message, from each implementation.
    assert results["sent"] == {"a": 9, "b": 3}
    assert results["delivered"] == results["sent"]
    assert results["capacity"] is not None and results["capacity"]["mb_per_s"] > 0
    text = proc.stdout
    marks = [text.index(f"\n{mark}") for mark in ("(a) ", "(b) ", "(c) ", "Targets")]
    tables = [text[start:end] for start, end in zip(marks, marks[1:], strict=False)]
    assert tables[0].startswith("\n(a) 3 small messages")
    assert "| 64 KB " in tables[1]
    assert tables[2].startswith("\n(c) start-up")
    # (c) side by side with tclsh and the floor, naming the install it measured.
    assert "| Python + tkinter.Tcl() (floor) " in tables[2] and "tclbridge install: " in tables[2]
    assert set(results["startup"]) == {"bridge", "tcllib", "floor"}
    for impl, label in labels.items():
        assert len(results["small"][impl]) == 1
        assert results["attach"][str(64 * 1024)][impl][0]["peak_rss"] > 0
        for table in tables[:2]:
            assert f"| {label} " in table, table
    targets = text[text.index("\nTargets:\n"):].splitlines()[2:]
    assert len([line for line in targets if line.startswith("  ")]) == 7


def _send_data(port: int, pieces: list[bytes]) -> None:
    """One transaction whose DATA goes out in these writes, with pauses, so
    the sink reads them apart."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"220")
        for command in (b"EHLO me", b"MAIL FROM:<a@b.c>", b"RCPT TO:<d@e.f>", b"DATA"):
            sock.sendall(command + b"\r\n")
            line = stream.readline()
            while line[3:4] == b"-":
                line = stream.readline()
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.02)
        assert stream.readline().startswith(b"250")
        sock.sendall(b"QUIT\r\n")
        assert stream.readline().startswith(b"221")


def test_sink_finds_the_end_of_data_split_across_reads() -> None:
    message = b"Subject: x\r\n\r\n.. stuffed\r\n" + b"y" * 3000 + b"\r\n"
    stream = message + b".\r\n"
    end = len(message) - 2  # where "\r\n.\r\n" starts
    with DiscardSink() as sink:
        for at in range(end - 1, len(stream) + 1):
            _send_data(sink.port, [stream[:at], stream[at:]])
        _send_data(sink.port, [message[:5], message[5:], b".\r\n"])
    assert sink.data_sizes == [len(message)] * (len(stream) - end + 3)


def test_profile_command_profiles_both_threads() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.profiling", "small", "2"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sink received 2 messages" in proc.stdout
    assert "===== Tcl thread" in proc.stdout
    worker = proc.stdout.split("===== SMTP worker thread")[1]
    assert "tclbridge/smtp/" in worker


def test_complexity_bench_runs_every_case_on_tiny_input() -> None:
    """`python -m bench.complexity` at tiny sizes: every case runs, and the
    table has a row with both times and the ratio."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.complexity", "--each", "8"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    names = [name for name, _ in rows]
    assert names and len(set(names)) == len(names)
    for _, seconds in rows:
        assert float(seconds) >= 0
    proc = subprocess.run(
        [sys.executable, "-m", "bench.complexity", "--scale", "0.001", "--only", "qp_decode sp"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith("| qp_decode")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[0] == "qp_decode spaces" and cells[1] == "400 blanks"
    assert cells[2].endswith(" ms") and cells[3].endswith(" ms") and float(cells[4]) > 0
