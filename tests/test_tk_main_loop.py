"""After a script that loaded Tk, `tclbridge run` serves Tk's event loop as
tclsh does, until `.` is destroyed or `exit` is called (on a real X server:
Xvfb, the `display` fixture)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.reference_runs import HAVE_TCLSH, run

needs_tclsh = pytest.mark.skipif(not HAVE_TCLSH, reason="tclsh is not installed")

LIMIT = 30.0  # seconds any one run may take; each case ends in well under 3

# Each ends by itself; what tclsh prints and exits with is the reference.
CASES = {
    "destroy-from-after": """
package require Tk
puts "script done"
after 200 {puts handler; destroy .}
""",
    "exit-from-handler": """
package require Tk
button .b -text Go -command {puts clicked; exit 3}
pack .b
after 200 {.b invoke}
""",
    # Tk's own bgerror opens a dialog and waits in it; the window goes away
    # under it, so the dialog fails, and Tcl says so on stderr.
    "bgerror-tk-dialog": """
package require Tk
after 100 {error "bg boom"}
after 800 {puts late; destroy .}
""",
    "bgerror-proc": """
package require Tk
proc bgerror {msg} {puts stderr "E: $msg"; puts "info: [lindex [split $::errorInfo \\n] 0]"}
after 100 {error "bg boom"}
after 300 {puts late; destroy .}
""",
    "bgerror-exits": """
package require Tk
proc bgerror {msg} {puts "E: $msg"; exit 4}
after 100 {error "bg boom"}
after 5000 {puts never; destroy .}
""",
    "interp-bgerror": """
package require Tk
interp bgerror {} {apply {{msg opts} {puts "handler: $msg [dict get $opts -errorcode]"}}}
after 100 {error "bg boom" {} {MY CODE}}
after 300 {puts late; destroy .}
""",
    "destroy-in-script": """
package require Tk
after 100 {puts never}
destroy .
puts "after destroy"
""",
    "withdrawn": """
package require Tk
wm withdraw .
after 200 {puts "tick [winfo ismapped .]"; destroy .}
""",
    # An uncaught error: errorInfo and exit 1, without serving the events.
    "error-after-tk": """
package require Tk
after 0 {puts never}
puts before
error "boom here"
""",
    "tk-in-child-interp": """
interp create c
c eval {package require Tk; after 200 {puts child; destroy .}}
puts "main: [package provide Tk]"
""",
    # Tk takes its options (-name) out of argv when it loads.
    "tk-options-in-argv": """
package require Tk
puts "[tk appname] [wm title .] $argv $argc"
# From an idle handler, after Tk's own that maps ".": a late start of the
# event loop would otherwise run a due timer before the window is mapped.
after idle {after 100 {puts -nonewline "mapped [winfo ismapped .]"; destroy .}}
""",
}


def _env(display: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    if display is not None:
        env["DISPLAY"] = display
    return env


def tclsh_and_bridge(script: Path, args: list[str], env: dict[str, str]
                     ) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit code, stdout, stderr) of `tclsh SCRIPT ARGS` and of
    `tclbridge run SCRIPT ARGS`, run in the script's directory."""
    found = []
    for command in (["tclsh"], [sys.executable, "-m", "tclbridge", "run"]):
        done = subprocess.run([*command, script.name, *args], capture_output=True, text=True,
                              cwd=script.parent, env=env, timeout=LIMIT,
                              stdin=subprocess.DEVNULL)
        found.append((done.returncode, done.stdout, done.stderr))
    return found[0], found[1]


@needs_tclsh
@pytest.mark.parametrize("name", sorted(CASES))
def test_event_loop_as_tclsh(name: str, display: str, tmp_path: Path) -> None:
    script = tmp_path / f"{name}.tcl"
    script.write_text(CASES[name])
    tcllib, bridge = tclsh_and_bridge(script, ["-name", "mytool", "rest"], _env(display))
    assert bridge == tcllib


def test_exit_code_from_a_handler(display: str, tmp_path: Path) -> None:
    """`exit 3` from a button's handler ends the loop with code 3."""
    script = tmp_path / "tool.tcl"
    script.write_text(CASES["exit-from-handler"])
    done = subprocess.run([sys.executable, "-m", "tclbridge", "run", str(script)],
                          capture_output=True, text=True, env=_env(display), timeout=LIMIT)
    assert (done.returncode, done.stdout) == (3, "clicked\n")


@needs_tclsh
def test_a_window_keeps_the_program_running(display: str, tmp_path: Path) -> None:
    """With nothing scheduled, a withdrawn `.` still holds the loop, under
    tclsh as under the bridge, until the process is stopped."""
    script = tmp_path / "idle.tcl"
    script.write_text("package require Tk\nwm withdraw .\nputs ready\n")
    for command in (["tclsh"], [sys.executable, "-m", "tclbridge", "run"]):
        proc = subprocess.Popen([*command, str(script)], stdout=subprocess.PIPE, text=True,
                                env=_env(display), stdin=subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
            time.sleep(1.0)
            assert proc.poll() is None, f"{command[-1]} ended with {proc.returncode}"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=LIMIT)
        assert proc.returncode == -signal.SIGTERM


@needs_tclsh
@pytest.mark.parametrize("display_value", [None, "", ":0.bad"])
def test_no_display_as_tclsh(display_value: str | None, tmp_path: Path) -> None:
    """Without a usable display `package require Tk` fails with Tk's error,
    errorInfo on stderr and exit 1, as under tclsh."""
    script = tmp_path / "tool.tcl"
    script.write_text(CASES["destroy-from-after"])
    tcllib, bridge = tclsh_and_bridge(script, [], _env(display_value))
    assert tcllib[0] == 1 and "display" in tcllib[2].splitlines()[0]
    assert bridge == tcllib


TK_MAIL_TOOL = r"""
package require Tk
package require smtp
package require mime
lassign $argv host port
button .send -text Send -command {
    set tok [mime::initialize -canonical text/plain -string "Nightly report.\nAll green.\n"]
    set result [smtp::sendmessage $tok -servers $host -ports $port \
        -originator tool@example.com -recipients ops@example.com \
        -header [list Subject "Report from the Tk tool"]]
    mime::finalize $tok
    puts "sent: {$result} [winfo exists .send]"
    destroy .
}
pack .send
puts "window up"
after 300 {.send invoke}
"""


@needs_tclsh
def test_button_handler_sends_mail_as_tclsh(display: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A Tk tool whose button, invoked from `after`, sends mail with
    smtp::sendmessage to a real server and then destroys `.`: the same
    output, exit status, SMTP commands and message under tclsh + tcllib and
    under the bridge."""
    script = tmp_path / "tool.tcl"
    script.write_text(TK_MAIL_TOOL)
    monkeypatch.setenv("DISPLAY", display)
    tcllib, bridge = run(script, bridge=False, timeout=LIMIT), run(script, bridge=True,
                                                                   timeout=LIMIT)
    assert (tcllib.exit, tcllib.stdout) == (0, "window up\nsent: {} 1\n"), tcllib.stderr
    assert len(tcllib.messages) == 1 and b"Subject: Report from the Tk tool" in tcllib.messages[0]
    assert (bridge.exit, bridge.stdout, bridge.stderr) == (tcllib.exit, tcllib.stdout,
                                                           tcllib.stderr)
    assert bridge.sessions == tcllib.sessions
    assert bridge.messages == tcllib.messages
