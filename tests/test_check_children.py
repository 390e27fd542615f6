"""`tclbridge check` keeps every connection of tcllib's smtp on the check's
capture server, also from child interpreters the script creates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.hermetic import outside_server

SCRIPT = """
interp create c
c eval [list set port [lindex $argv 0]]
c eval {
    package require smtp
    package require mime
    set tok [mime::initialize -canonical text/plain -string hi]
    smtp::sendmessage $tok -servers 127.0.0.1 -ports $port -recipients a@example.com
}
puts sent
"""


def test_no_mail_leaves_from_a_child_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "child.tcl"
    script.write_text(SCRIPT)
    with outside_server() as real:
        proc = subprocess.run(
            [sys.executable, "-m", "tclbridge", "check", "--json", str(script), str(real.port)],
            capture_output=True, text=True, timeout=120,
        )
    assert real.sessions == []
    # tcllib's child sent to the check's server; the bridge's child refuses
    # smtp (COMPAT child-interp): a difference, reported.
    assert proc.returncode == 1, proc.stderr
    assert '"agree": false' in proc.stdout
