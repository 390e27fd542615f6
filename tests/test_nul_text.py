"""Text holding NUL that the bridge hands to Tcl is whole for every Tcl command.

tkinter writes a Python str's NUL as a 0 byte inside Tcl's string, where Tcl
keeps NUL as C0 80; Tcl commands that read the string as a C string (`scan`
among them) then stopped at it: `scan [mime::getbody $tok] %c` of
a binary attachment starting with NUL gave "" under the bridge, 0 under
tclsh. The same script runs under tclsh + tcllib and under `tclbridge run`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tcl_programs import HAVE_TCLSH, run_program

SCRIPT = r"""
package require mime
proc probe {name text} {
    binary scan $text H* hex
    puts [list $name [string length $text] $hex [scan $text %c] \
        [format <%s> $text] [regexp -inline {\x01.} $text] \
        [string first \x01 $text] [string map {\x00 0} $text]]
}
# Each through a different bridge command.
probe qp_decode [mime::qp_decode "=00a=01b"]
set tok [mime::initialize -string "Content-Transfer-Encoding: base64\n\nAAFh"]
probe getbody-string [mime::getbody $tok]
set f [open nul.eml wb]
puts -nonewline $f "Content-Transfer-Encoding: base64\n\nAAECAwQFBgf/\n"
close $f
set tok [mime::initialize -file nul.eml]
probe getbody-file [mime::getbody $tok]
probe getbody-callback [mime::getbody $tok -command {apply {{reason {data ""}} {
    if {$reason eq "data"} { append ::seen $data }
    return $::seen
}}}]
probe word_decode [lindex [mime::word_decode "=?ISO-8859-1?Q?=00x=01y?="] 2]
probe field_decode [mime::field_decode "=?ISO-8859-1?Q?=00x=01y?="]
set tok [mime::initialize -canonical text/plain -string "a\x00b\x01c"]
probe getbody-canonical [mime::getbody $tok]
"""


@pytest.mark.skipif(not HAVE_TCLSH, reason="needs tclsh and tcllib")
def test_text_with_nul_reads_as_under_tclsh(tmp_path: Path) -> None:
    outputs = {}
    for bridge in (False, True):
        workdir = tmp_path / ("bridge" if bridge else "tcllib")
        workdir.mkdir()
        (workdir / "nul.tcl").write_text(SCRIPT)
        outputs[bridge] = run_program(workdir / "nul.tcl", bridge=bridge)
    assert outputs[True] == outputs[False]
    assert outputs[True].startswith("exit 0\nqp_decode 4 00610162 0 ")
    assert "getbody-file 9 0001020304050607ff 0 " in outputs[True]
