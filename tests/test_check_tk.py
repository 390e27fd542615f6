"""`tclbridge check` on Tk scripts: both runs serve Tk's event loop on an X
display that works inside check's private network namespace: a private
Xvfb per run when Xvfb is installed (the user's display and its other Tk
programs out of reach), else the user's DISPLAY; no usable display is one
clear line, not a "same" between two failed runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tclbridge.display import XVFB_INSTALL, DisplayError, xvfb_display
from tests.support.reference_runs import HAVE_TCLSH
from tests.support.waiting import wait_until
from tests.support.x_displays import (
    LIMIT,
    REACH_OUT,
    desktop_with_outside_program,
    environment,
    path_without_xvfb,
)

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not HAVE_TCLSH, reason="tclsh is not installed")

# A button whose handler, invoked from `after`, sends one message and then
# ends the program: `destroy .`, or `exit N` when given.
TK_MAIL_TOOL = r"""
package require Tk
package require smtp
package require mime
lassign $argv server ending
button .send -text Send -command {
    set tok [mime::initialize -canonical text/plain -string "Nightly report.\nAll green.\n"]
    set result [smtp::sendmessage $tok -servers $server -originator tool@example.com \
        -recipients ops@example.com -header [list Subject "Report from the Tk tool"]]
    mime::finalize $tok
    puts "sent: {$result} on [winfo screen .]"
    if {$ending eq "destroy"} { destroy . } else { exit $ending }
}
pack .send
after 300 {.send invoke}
"""


def check(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "check", *args], capture_output=True, text=True,
        cwd=cwd, timeout=LIMIT, stdin=subprocess.DEVNULL,
        env={**env, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("ending, code", [("destroy", 0), ("3", 3)])
def test_tk_tool_mails_the_same_under_check(ending: str, code: int, tmp_path: Path) -> None:
    """No DISPLAY at all: each run gets its own Xvfb, the window's handler
    sends under tclsh + tcllib and under the bridge, and check says "same"."""
    (tmp_path / "tool.tcl").write_text(TK_MAIL_TOOL)
    done = check("--json", "tool.tcl", "mail.example.invalid", ending, cwd=tmp_path,
                 env=environment())
    assert (done.returncode, done.stderr) == (0, ""), done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["agree"] is True
    assert result["runs"] == {name: {"exit": code, "error": None, "sessions": 1, "messages": 1}
                              for name in ("tcllib", "bridge")}
    assert result["summary"] == (f"same: tcllib and the bridge agree (exit code {code}, "
                                 "1 SMTP session, 1 message delivered)")


@pytest.mark.usefixtures("display")
def test_runs_cannot_reach_the_users_display(tmp_path: Path) -> None:
    """With Xvfb installed, the user's display (and a Tk program on it that
    Tk's `send` could drive, to mail outside the sandbox) is out of reach of
    both runs; they see the same private screen."""
    marker = tmp_path / "reached"
    (tmp_path / "reach.tcl").write_text(REACH_OUT)
    with desktop_with_outside_program(tmp_path, marker) as desktop:
        # Outside check the same script reaches both.
        plain = subprocess.run(["tclsh", "reach.tcl", desktop], cwd=tmp_path, timeout=LIMIT,
                               capture_output=True, text=True, env=environment(desktop))
        assert (plain.returncode, marker.exists()) == (13, True), plain.stdout + plain.stderr
        marker.unlink()
        done = check("--json", "reach.tcl", desktop, cwd=tmp_path, env=environment(desktop))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["agree"] is True
    assert {run["exit"] for run in result["runs"].values()} == {0}
    assert not marker.exists(), "a run under check drove a Tk program on the user's display"


def test_without_xvfb_the_users_display_is_used(display: str, tmp_path: Path) -> None:
    """Without Xvfb, both runs use the user's DISPLAY, reached through its
    /tmp/.X11-unix socket from inside check's network namespace; one line
    says the windows open there."""
    (tmp_path / "tool.tcl").write_text(TK_MAIL_TOOL)
    env = environment(display, path_without_xvfb(tmp_path / "bin"))
    done = check("tool.tcl", "mail.example.invalid", "destroy", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == (
        "same: tcllib and the bridge agree (exit code 0, 1 SMTP session, 1 message delivered)")
    assert done.stderr == (
        f"tclbridge: warning: Xvfb is not installed, so a Tk script's windows open on your "
        f"display {display}, outside the sandbox (install it: {XVFB_INSTALL})\n")


@pytest.mark.parametrize("user_display, reason", [
    (None, "DISPLAY is not set"),
    ("localhost:10.0", "DISPLAY=localhost:10.0 is a TCP display (ssh -X?), which check's "
                       "private network namespace cannot reach"),
])
def test_no_usable_display_is_one_clear_line(user_display: str | None, reason: str,
                                             tmp_path: Path) -> None:
    """Both runs failing alike at `package require Tk` is not "same": exit 2
    and one line that says why and what to install."""
    (tmp_path / "tool.tcl").write_text(TK_MAIL_TOOL)
    env = environment(user_display, path_without_xvfb(tmp_path / "bin"))
    done = check("tool.tcl", "mail.example.invalid", "destroy", cwd=tmp_path, env=env)
    assert (done.returncode, done.stdout) == (2, ""), done.stdout + done.stderr
    assert done.stderr == (f"tclbridge check: the script needs Tk, and {reason}; install Xvfb "
                           f"({XVFB_INSTALL}) and check gives each run a private display\n")
    done = check("--json", "tool.tcl", "mail.example.invalid", "destroy", cwd=tmp_path, env=env)
    assert done.returncode == 2
    result = json.loads(done.stdout)
    assert (result["agree"], result["install"]) == (None, XVFB_INSTALL)
    # A script without Tk is compared as before, without a word about displays.
    (tmp_path / "plain.tcl").write_text("puts hello\n")
    done = check("plain.tcl", cwd=tmp_path, env=env)
    assert (done.returncode, done.stderr) == (0, "")


def test_xvfb_that_fails_to_start_is_one_line(tmp_path: Path) -> None:
    """A broken Xvfb (a fault: it exits at once) stops check with its last words."""
    bin_dir = Path(path_without_xvfb(tmp_path / "bin"))
    fake = bin_dir / "Xvfb"
    fake.write_text("#!/bin/sh\necho '(EE) Fatal server error: no screens' >&2\nexit 1\n")
    fake.chmod(0o755)
    (tmp_path / "tool.tcl").write_text(TK_MAIL_TOOL)
    done = check("tool.tcl", "mail.example.invalid", "destroy", cwd=tmp_path,
                 env=environment(None, str(bin_dir)))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "tclbridge check: Xvfb did not start ((EE) Fatal server error: no screens)\n")


def test_xvfb_start_is_bounded(tmp_path: Path) -> None:
    """An Xvfb that never says it is ready (a fault) is given up after the
    wait, and stopped."""
    fake = tmp_path / "Xvfb"
    pid_file = tmp_path / "pid"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    fake.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(DisplayError, match="Xvfb did not start"):
        with xvfb_display(str(fake), namespace_only=False, timeout=0.5):
            pytest.fail("no display was announced")
    assert time.monotonic() - started < 5
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait long for its reaper)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_private_display_ends_with_a_killed_check(tmp_path: Path) -> None:
    """`kill -9` of check (no cleanup code runs) still ends its Xvfb, and
    with it the Tk run that would wait on it for ever."""
    ready = tmp_path / "ready"
    (tmp_path / "hang.tcl").write_text(f"package require Tk\nclose [open {ready} w]\n")
    proc = subprocess.Popen([sys.executable, "-m", "tclbridge", "check", "hang.tcl"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**environment(), "PYTHONPATH": str(REPO)})
    try:
        def xvfb_children() -> list[int]:
            return [child for child in _children(proc.pid)
                    if b"Xvfb" in Path(f"/proc/{child}/cmdline").read_bytes()]

        # The tcllib run is up on its display (killed before Xvfb announced
        # its number, Xvfb would die of SIGPIPE).
        assert wait_until(ready.exists, timeout=LIMIT)
        servers = xvfb_children()
        assert servers
    finally:
        proc.kill()
        proc.wait(LIMIT)
    ended = wait_until(lambda: not any(_running(pid) for pid in servers), timeout=10)
    for pid in filter(_running, servers):
        os.kill(pid, signal.SIGKILL)  # not to leave them behind when this fails
    assert ended, "check's Xvfb outlived it"
