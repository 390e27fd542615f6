"""X displays for tests of Tk scripts under check and capture: the
environment a run gets, a PATH without Xvfb, and a Tk program on a "desktop"
display that a sandboxed script must not be able to drive."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tclbridge.display import find_xvfb, xvfb_display

LIMIT = 60.0  # seconds a whole run may take

# The program outside the sandbox: it touches argv's file when driven.
OUTSIDE_APP = r"""
package require Tk
tk appname outside
wm withdraw .
proc reached {} { close [open [lindex $::argv 0] w] }
puts ready
"""

# Exit 0 when neither Tk's `send` to the program outside nor a window on
# the user's display (argv; the server where `outside` lives, not a private
# one that happens to have the same name) works, else 10 + what worked.
REACH_OUT = r"""
package require Tk
set sent [expr {![catch {send outside reached}]}]
set opened [expr {![catch {toplevel .t -screen [lindex $argv 0]}]
                  && "outside" in [winfo interps -displayof .t]}]
puts "screen [winfo screen .]"
exit [expr {$sent || $opened ? 10 + 2 * $sent + $opened : 0}]
"""


def environment(display: str | None = None, path: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    if display is not None:
        env["DISPLAY"] = display
    if path is not None:
        env["PATH"] = path
    return env


def path_without_xvfb(directory: Path) -> str:
    """A PATH with tclsh and nothing else: Xvfb is not installed there."""
    directory.mkdir()
    tclsh = shutil.which("tclsh")
    assert tclsh is not None
    (directory / "tclsh").symlink_to(tclsh)
    return str(directory)


@contextlib.contextmanager
def desktop_with_outside_program(workdir: Path, marker: Path) -> Iterator[str]:
    """A second Xvfb reachable as a desktop's is (never :0, the name a
    private display takes, which would shadow it), with OUTSIDE_APP on it;
    yields its DISPLAY."""
    xvfb = find_xvfb()
    assert xvfb is not None, "Xvfb must be installed (scripts/bootstrap.sh does it)"
    (workdir / "outside.tcl").write_text(OUTSIDE_APP)
    with contextlib.ExitStack() as stack:
        desktop = stack.enter_context(xvfb_display(xvfb, namespace_only=False))
        assert desktop != ":0"
        outside = subprocess.Popen(["tclsh", "outside.tcl", str(marker)], cwd=workdir,
                                   stdout=subprocess.PIPE, text=True,
                                   env=environment(desktop), stdin=subprocess.DEVNULL)
        stack.callback(outside.communicate, timeout=LIMIT)
        stack.callback(outside.terminate)
        assert outside.stdout is not None and outside.stdout.readline() == "ready\n"
        yield desktop
