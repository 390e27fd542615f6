"""A Tk window stays responsive while a send waits on a slow server (on a
real X server: Xvfb, the `display` fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.recording import scripted_server

REPO = Path(__file__).resolve().parent.parent


TK_SCRIPT = r"""
package require Tk
package require smtp
label .l -text idle
pack .l
update
set ::configured 0
bind . <Configure> {incr ::configured}
after 200 {wm geometry . 300x200}
after 400 {.l configure -text busy; update idletasks; set ::shown [winfo reqwidth .l]}
set tok [mime::initialize -canonical text/plain -string hi]
set started [clock milliseconds]
smtp::sendmessage $tok -servers 127.0.0.1 -ports [lindex $argv 0] -header {To a@x}
puts "elapsed [expr {[clock milliseconds] - $started}]"
puts "configured $::configured"
puts "geometry [winfo geometry .]"
puts "shown [info exists ::shown]"
exit 0
"""


def test_window_handles_events_during_send(display: str, tmp_path) -> None:
    """A Tk tool run by `tclbridge run` keeps handling window events while
    its send waits on a slow server."""
    script = tmp_path / "tool.tcl"
    script.write_text(TK_SCRIPT)
    with scripted_server(delays={"DOT": 1.0}) as srv:
        out = subprocess.run(
            [sys.executable, "-m", "tclbridge", "run", str(script), str(srv.port)],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "DISPLAY": display, "PYTHONPATH": str(REPO)},
        )
    assert out.returncode == 0, out.stderr
    report = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert int(report["elapsed"]) >= 1000
    # Window-system events were dispatched while the send was waiting.
    assert int(report["configured"]) > 0
    assert report["geometry"].startswith("300x200")
    assert report["shown"] == "1"
    assert len(srv.messages) == 1
