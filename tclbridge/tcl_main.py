"""What tclsh's main loop (Tcl_Main) does beyond `tclbridge run`, for
tclbridge-tclsh: its variables and, without a script, commands read from
stdin, one complete command at a time: with a prompt and each result printed
while `tcl_interactive` is 1 (stdin a terminal), silently otherwise; an
error prints its message and the loop goes on; the end of stdin ends it.

A command's text never passes through Python (tkinter cannot pass a NUL or
a lone surrogate, both of which a line of stdin may hold): Tcl reads it,
`catch` runs it at level 0, and what tclsh's Tcl_EvalObjEx does with a
`return`, `break` or other code at level 0 is done to catch's outcome."""

from __future__ import annotations

import os
import tkinter

# typing is for type checkers only: importing it costs every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tclbridge.interp import Interp

# tclsh's variables: `info nameofexecutable` and its rc file name. In tclsh
# the first is the tclsh binary; a process's own name is what `exec [info
# nameofexecutable] child.tcl` needs to start another script the same way.
# Then the loop's steps, which call Tcl's own commands by their full names:
# a script may rename or wrap `puts`, `gets` or `info`, and tclsh's loop
# (C code) does not go through them.
_TCLSH_SETUP = r"""
proc ::tclbridge::nameofexecutable {} {
    variable program
    return $program
}
namespace ensemble configure ::info -map [dict replace \
    [namespace ensemble configure ::info -map] nameofexecutable ::tclbridge::nameofexecutable]
set ::tcl_rcFileName ~/.tclshrc

namespace eval ::tclbridge::tclsh {
    variable pending ""
    variable command ""
    variable result ""
    variable options {}
}
proc ::tclbridge::tclsh::interactive {} {
    expr {[::tcl::info::exists ::tcl_interactive]
          && [::tcl::string::is true -strict $::tcl_interactive]}
}
# $tcl_prompt1 (or 2, inside a command) run as a script; without it, or when
# it fails (its message on stderr), "% " (nothing inside a command).
proc ::tclbridge::tclsh::prompt {continuing} {
    set name [expr {$continuing ? "::tcl_prompt2" : "::tcl_prompt1"}]
    if {[::tcl::info::exists $name]} {
        if {![catch {uplevel #0 [set $name]} message]} {
            catch {::tcl::chan::flush stdout}
            return
        }
        catch {::tcl::chan::puts stderr $message}
    }
    if {!$continuing} {
        catch {::tcl::chan::puts -nonewline stdout "% "}
    }
    catch {::tcl::chan::flush stdout}
}
proc ::tclbridge::tclsh::rc_file {} {
    if {![::tcl::info::exists ::tcl_rcFileName]} {
        return
    }
    if {[catch {
        set name [::tcl::file::normalize $::tcl_rcFileName]
        if {[::tcl::file::readable $name]} {
            uplevel #0 [list source $name]
        }
    } message]} {
        catch {::tcl::chan::puts stderr $message}
    }
}
# A line of stdin into the command being read: -1 at the end of stdin (or
# when a command closed it), 0 when the command needs more lines, 1 when it
# is complete (then in $command without its last newline, and in history).
proc ::tclbridge::tclsh::read {} {
    variable pending
    variable command
    if {[catch {::tcl::chan::gets stdin line} length] || $length < 0} {
        return -1
    }
    append pending $line \n
    if {![::tcl::info::complete $pending]} {
        return 0
    }
    set command [::tcl::string::range $pending 0 end-1]
    set pending ""
    catch {::history add $command}
    return 1
}
# What tclsh does with the command's outcome: at level 0 a `return` takes
# its -code (and an error its -errorcode and -errorinfo); any code but 0
# and 1 is then an error; an error's message goes to stderr, a result to
# stdout when interactive.
proc ::tclbridge::tclsh::outcome {code} {
    variable command
    variable result
    variable options
    if {$code == 2 && [dict get $options -level] == 1} {
        set code [dict get $options -code]
        if {$code == 1} {
            set ::errorCode [dict get $options -errorcode]
            if {[dict exists $options -errorinfo]} {
                set ::errorInfo [dict get $options -errorinfo]
            }
        }
    }
    if {$code == 0} {
        if {[interactive] && $result ne ""} {
            catch {::tcl::chan::puts stdout $result}
        }
        return
    }
    if {$code != 1} {
        if {$code == 3} {
            set result {invoked "break" outside of a loop}
        } elseif {$code == 4} {
            set result {invoked "continue" outside of a loop}
        } else {
            set result "command returned bad code: $code"
        }
        set shown $command
        if {[::tcl::string::length $shown] > 150} {
            set shown [::tcl::string::range $shown 0 149]...
        }
        set ::errorCode [list TCL UNEXPECTED_RESULT_CODE $code]
        set ::errorInfo "$result\n    while executing\n\"$shown\""
    }
    catch {::tcl::chan::puts stderr $result}
}
proc ::tclbridge::tk_window_open {} {
    expr {![catch {::winfo exists .} open] && $open}
}
"""

# Runs the command read at level 0 (not inside a proc: `info level`,
# `upvar`, `uplevel`, variables are the global ones, as in tclsh).
_EVALUATE = ("::catch $::tclbridge::tclsh::command ::tclbridge::tclsh::result"
             " ::tclbridge::tclsh::options")
# Set when stdin has input, while Tk's events are served.
_READY = "::tclbridge::tclsh::input_ready"


def act_as_tclsh(bridge: Interp, program: str) -> None:
    """What tclsh sets up beyond `tclbridge run`."""
    bridge.call("set", "::tclbridge::program", program)
    bridge.eval(_TCLSH_SETUP)


def _interactive(app: Any) -> bool:
    """tclsh links `tcl_interactive` to its loop: setting it turns the
    prompt and the printing of results on or off."""
    return bool(int(app.call("::tclbridge::tclsh::interactive")))


def _tk_window_open(app: Any) -> bool:
    """Tk is loaded and its main window `.` not destroyed."""
    return (bool(app.call("::tcl::info::commands", "::winfo"))
            and bool(int(app.call("::tclbridge::tk_window_open"))))


def _serve_events_until_input(app: Any) -> None:
    """While Tk's main window is open, tclsh waits for input in Tk's event
    loop, so windows and timers stay alive at the prompt (without it they
    wait for a command that runs the event loop)."""
    try:
        app.call("::tcl::chan::event", "stdin", "readable", f"set {_READY} 1")
        try:
            app.call("vwait", _READY)
        finally:
            app.call("::tcl::chan::event", "stdin", "readable", "")
    except tkinter.TclError:
        pass  # stdin closed: the read that follows ends the loop


def read_eval_print(bridge: Interp) -> bool:
    """tclsh without a script: commands from stdin until its end (or
    `exit`). False when the process is to end at once, without serving
    Tk's events further: tclsh exits at the end of a terminal's input."""
    app = bridge.tk.tk
    app.call("set", "::tcl_interactive", "1" if os.isatty(0) else "0")
    if _interactive(app):
        app.call("::tclbridge::tclsh::rc_file")
    continuing = False
    while True:
        if _interactive(app):
            app.call("::tclbridge::tclsh::prompt", int(continuing))
        if _tk_window_open(app):
            _serve_events_until_input(app)
        state = int(app.call("::tclbridge::tclsh::read"))
        if state < 0:
            # The end of stdin; a command left incomplete is dropped.
            return not _interactive(app)
        continuing = state == 0
        if not continuing:
            code = app.eval(_EVALUATE)
            app.call("::tclbridge::tclsh::outcome", code)
