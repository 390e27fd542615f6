"""The three-step migration example (examples/migration/) sends the same mail
at every step: the legacy script under the bridge, the Tcl script calling
Python and Python calling the legacy proc, and pure Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge.recorder import RecordingServer, ServerScript
from tests.support.mail_record import Received, received
from tests.support.tcl_programs import HAVE_TCLSH

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "migration"
STEPS = {
    "step1 (tclbridge run)": ["-m", "tclbridge", "run", "step1_nightly_report.tcl"],
    "step2a (Tcl calls Python)": ["-m", "tclbridge", "run", "step2_calls_python.tcl"],
    "step2b (Python calls Tcl)": ["step2_calls_tcl.py"],
    "step3 (pure Python)": ["step3_nightly_report.py"],
}
# The server refuses the Cc: the scripts report it and send to the others.
SCRIPT = ServerScript(replies={"RCPT:audit@example.com": "550 5.1.1 mailbox unavailable"})
EXPECTED_OUTPUT = "refused: audit@example.com (550 5.1.1 mailbox unavailable)\nreport sent\n"


def run_step(command: list[str]) -> tuple[subprocess.CompletedProcess[str], Received]:
    with RecordingServer(SCRIPT) as srv:
        done = subprocess.run(
            [*command, "127.0.0.1", str(srv.port)],
            capture_output=True, text=True, timeout=120, cwd=EXAMPLE,
        )
    return done, received(srv)


def test_every_step_sends_the_same_mail() -> None:
    results = {name: run_step([sys.executable, *cmd]) for name, cmd in STEPS.items()}
    for name, (done, _) in results.items():
        assert (done.returncode, done.stdout, done.stderr) == (0, EXPECTED_OUTPUT, ""), name
    first = results["step1 (tclbridge run)"][1]
    assert first.envelopes == [("reports@example.com", ["ops@example.com"])]
    assert first.sessions[0][2:4] == ["RCPT TO:<ops@example.com>", "RCPT TO:<audit@example.com>"]
    message = first.messages[0]
    assert b"Subject: Nightly host report\r\n" in message
    assert b"Not ok: db01\r\n" in message and b'filename="hosts.csv"' in message
    for name, (_, record) in results.items():
        assert record == first, f"{name} differs from step 1"


@pytest.mark.skipif(not HAVE_TCLSH, reason="tclsh with tcllib is not installed")
def test_step1_is_a_tcllib_script() -> None:
    """Step 1 really is a legacy script: tcllib runs it the same way (its
    message differs only by tcllib's bugs listed in docs/COMPAT.md)."""
    tcllib, tcllib_record = run_step(["tclsh", "step1_nightly_report.tcl"])
    bridge, bridge_record = run_step([sys.executable, *STEPS["step1 (tclbridge run)"]])
    assert tcllib.stdout == bridge.stdout == EXPECTED_OUTPUT
    assert tcllib_record.sessions == bridge_record.sessions
    assert tcllib_record.envelopes == bridge_record.envelopes
