"""`exit` for tkinter interpreters, which have none.

tclsh's `exit` checks its argument and flushes before the process ends;
the bridge's two faces end differently (`tclbridge run` ends the process,
`load_tcl` cannot end Python's and ends the running Tcl code instead), so
the proc is one text with the ending as a parameter.
"""

from __future__ import annotations

_EXIT_PROC = r"""
proc exit {{code 0}} {
    if {![string is integer -strict $code]} {
        return -code error "expected integer but got \"$code\""
    }
    set code [expr {$code + 0}] ;# decimal, as Python reads it (0x10 -> 16)
    catch {flush stdout}
    catch {flush stderr}
    @ENDING@
}
"""


def exit_proc(ending: str) -> str:
    """Tcl source defining `exit`; `ending` is the Tcl command it ends with,
    run in the proc where `$code` is the decimal exit status."""
    return _EXIT_PROC.replace("@ENDING@", ending)
