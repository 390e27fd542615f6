"""Run a Tcl snippet under real tclsh (tcllib mime) and under tclbridge.

Both return the same shape: `code result errorcode` as a Tcl list string,
UTF-8 encoded. `both` and `assert_same` compare them after
tests/support/mime_normalise.py: random values (Content-ID, Message-ID,
uniqueID, boundary) become ordinals, and tcllib 1.7.0's output reads as 1.7.2
writes it (COMPAT `boundary-once`, `cte-once`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.mime_normalise import fix_tcllib_170, mask

TCLSH = shutil.which("tclsh")
TCLLIB_MIME = Path("/usr/share/tcltk/tcllib1.21/mime/mime.tcl")
HAVE_TCLLIB = TCLSH is not None and TCLLIB_MIME.exists()

HARNESS = r"""
proc __run {script} {
    set code [catch {uplevel #0 $script} res opts]
    set ec {}
    if {[dict exists $opts -errorcode]} { set ec [dict get $opts -errorcode] }
    if {$code == 0} { set ec {} }
    return [list $code $res $ec]
}
proc mkfile {name data} {
    set f [open $name w]
    fconfigure $f -translation binary
    puts -nonewline $f $data
    close $f
}
proc readbin {name} {
    set f [open $name rb]
    set data [read $f]
    close $f
    return $data
}
"""

# The reference runs with tcllib's quoted-printable line-loss bug fixed in
# place (COMPAT `qp-dot-line`): its "\n.\n" -> "=2E\n" map becomes
# "\n.\n" -> "\n=2E\n", the rest of its qp_encode unchanged.
TCLLIB_QP_FIX = r"""
apply {{} {
    set params {}
    foreach name [info args ::mime::qp_encode] {
        if {[info default ::mime::qp_encode $name value]} {
            lappend params [list $name $value]
        } else {
            lappend params $name
        }
    }
    set body [info body ::mime::qp_encode]
    set fixed [string map [list {\n\.\n =2E\n} {\n\.\n \n=2E\n}] $body]
    if {$fixed eq $body} { error "tcllib's qp_encode has changed: no dot-line map to fix" }
    proc ::mime::qp_encode $params $fixed
}}
"""

def run_tclsh(script: str, workdir: Path) -> str:
    (workdir / "snippet.tcl").write_text(script, encoding="utf-8")
    driver = HARNESS + "package require mime\n" + TCLLIB_QP_FIX + r"""
set dir [pwd]
set f [open snippet.tcl]; fconfigure $f -encoding utf-8; set __s [read $f]; close $f
set __r [__run $__s]
fconfigure stdout -translation binary
puts -nonewline [encoding convertto utf-8 $__r]
"""
    proc = subprocess.run(
        [TCLSH], input=driver.encode(), capture_output=True, cwd=workdir, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode("utf-8")


def run_bridge(script: str, workdir: Path) -> str:
    from tclbridge import Interp

    here = os.getcwd()
    with Interp() as tcl:
        return _run_in(tcl, script, workdir, here)


def _run_in(tcl: Any, script: str, workdir: Path, here: str) -> str:
    try:
        tcl.eval(HARNESS)
        tcl.eval("package require mime")
        tcl.call("cd", str(workdir))
        tcl.call("set", "dir", str(workdir))
        tcl.call("set", "__s", script)
        # Via hex: tkinter's eval result stops at a NUL character.
        hexed = tcl.eval("binary encode hex [encoding convertto utf-8 [__run $__s]]")
        return bytes.fromhex(hexed).decode("utf-8")
    finally:
        os.chdir(here)


def both(script: str, workdir: Path) -> tuple[str, str]:
    """(tcllib's masked result with 1.7.2 fixes, the bridge's masked result)."""
    ref_dir = workdir / "ref"
    our_dir = workdir / "our"
    for d in (ref_dir, our_dir):
        d.mkdir(exist_ok=True)
    return (
        mask(fix_tcllib_170(run_tclsh(script, ref_dir))),
        mask(run_bridge(script, our_dir)),
    )


def assert_same(script: str, workdir: Path, attempts: int = 3) -> None:
    """tcllib and the bridge give the same masked result.

    tcllib 1.7.0 makes a multipart boundary up twice from [clock seconds]
    and scripts may read the clock themselves, so when a second ticks in the
    middle tcllib's own output is inconsistent: try again before calling it
    a difference."""
    for _ in range(attempts):
        expected, actual = both(script, workdir)
        if actual == expected:
            return
    assert actual == expected
