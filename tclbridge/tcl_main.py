"""What tclsh's main loop (Tcl_Main) does beyond `tclbridge run`, for
tclbridge-tclsh: its variables and, without a script, commands read from
stdin, one complete command at a time: with a prompt and each result printed
while `tcl_interactive` is 1 (stdin a terminal), silently otherwise; an
error prints its message and the loop goes on; the end of stdin ends it."""

from __future__ import annotations

import os
import tkinter

# typing is for type checkers only: importing it costs every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tclbridge.interp import Interp

# The names of Tcl's own commands: a script may rename or wrap `puts`,
# `gets` or `info`, and tclsh's loop (C code) does not go through them.
_GETS = "::tcl::chan::gets"
_PUTS = "::tcl::chan::puts"
_FLUSH = "::tcl::chan::flush"
_COMPLETE = "::tcl::info::complete"
_EVENT = "::tcl::chan::event"
_COMMANDS = "::tcl::info::commands"
# Where the loop's `gets` puts the line it read.
_LINE = "::tclbridge::tclsh_line"
# Set when stdin has input, while Tk's events are served.
_READY = "::tclbridge::tclsh_input_ready"
_WINDOW_OPEN = "::tclbridge::tk_window_open"


# `info nameofexecutable` and tclsh's rc file name. In tclsh the first is
# the tclsh binary; a process's own name is what `exec [info
# nameofexecutable] child.tcl` needs to start another script the same way.
_TCLSH_SETUP = r"""
proc ::tclbridge::nameofexecutable {} {
    variable program
    return $program
}
namespace ensemble configure ::info -map [dict replace \
    [namespace ensemble configure ::info -map] nameofexecutable ::tclbridge::nameofexecutable]
set ::tcl_rcFileName ~/.tclshrc
proc ::tclbridge::tk_window_open {} {
    expr {![catch {::winfo exists .} open] && $open}
}
"""


def act_as_tclsh(bridge: Interp, program: str) -> None:
    """What tclsh sets up beyond `tclbridge run`."""
    bridge.call("set", "::tclbridge::program", program)
    bridge.eval(_TCLSH_SETUP)


def _interactive(app: Any) -> bool:
    """tclsh links `tcl_interactive` to its loop: setting it turns the
    prompt and the printing of results on or off."""
    try:
        return bool(app.getboolean(app.globalgetvar("tcl_interactive")))
    except (tkinter.TclError, ValueError):
        return False


def _write(app: Any, channel: str, text: str, newline: bool = True) -> None:
    try:
        if newline:
            app.call(_PUTS, channel, text)
        else:
            app.call(_PUTS, "-nonewline", channel, text)
            app.call(_FLUSH, channel)
    except tkinter.TclError:
        pass  # closed by the script: tclsh writes nothing either


def _prompt(app: Any, continuing: bool) -> None:
    """$tcl_prompt1 (or 2, inside a command) run as a script; without it
    `% ` (and nothing inside a command)."""
    try:
        script = app.globalgetvar("tcl_prompt2" if continuing else "tcl_prompt1")
    except tkinter.TclError:
        script = None
    if script is not None:
        try:
            app.eval(str(script))
            app.call(_FLUSH, "stdout")
            return
        except tkinter.TclError as exc:
            _write(app, "stderr", str(exc))
    if not continuing:
        _write(app, "stdout", "% ", newline=False)


def _source_rc_file(app: Any) -> None:
    """tclsh's start-up file, $tcl_rcFileName (~/.tclshrc), for an
    interactive session; an error in it prints its message."""
    try:
        name = app.call("file", "normalize", app.globalgetvar("tcl_rcFileName"))
        if not int(app.call("file", "readable", name)):
            return
        app.call("source", name)
    except tkinter.TclError as exc:
        _write(app, "stderr", str(exc))


def _tk_window_open(app: Any) -> bool:
    """Tk is loaded and its main window `.` not destroyed."""
    return bool(app.call(_COMMANDS, "::winfo")) and bool(int(app.call(_WINDOW_OPEN)))


def _serve_events_until_input(app: Any) -> None:
    """While Tk's main window is open, tclsh waits for input in Tk's event
    loop, so windows and timers stay alive at the prompt (without it they
    wait for a command that runs the event loop)."""
    try:
        app.call(_EVENT, "stdin", "readable", f"set {_READY} 1")
        try:
            app.call("vwait", _READY)
        finally:
            app.call(_EVENT, "stdin", "readable", "")
    except tkinter.TclError:
        pass  # stdin closed: the `gets` that follows ends the loop


def _evaluate(app: Any, command: str) -> str:
    """`command` at Tcl's top level, from Python (not inside a Tcl command),
    so that Tcl treats a `break` or `return -code N` as tclsh's loop does."""
    if "\0" not in command:
        return str(app.eval(command))
    # tkinter passes a NUL to Tcl only inside an argument: the same result
    # and codes, with one more errorInfo frame (the uplevel's).
    return str(app.call("format", "%s", app.call("uplevel", "#0", command)))


def read_eval_print(bridge: Interp) -> bool:
    """tclsh without a script: commands from stdin until its end (or
    `exit`). False when the process is to end at once, without serving
    Tk's events further: tclsh exits at the end of a terminal's input."""
    app = bridge.tk.tk
    app.call("set", "::tcl_interactive", "1" if os.isatty(0) else "0")
    if _interactive(app):
        _source_rc_file(app)
    command = ""
    while True:
        if _interactive(app):
            _prompt(app, continuing=bool(command))
        if _tk_window_open(app):
            _serve_events_until_input(app)
        try:
            length = int(app.call(_GETS, "stdin", _LINE))
        except tkinter.TclError:  # stdin closed by a command
            return True
        if length < 0:
            # The end of stdin; a command left incomplete is dropped.
            return not _interactive(app)
        command += str(app.globalgetvar(_LINE)) + "\n"
        if not int(app.call(_COMPLETE, command)):
            continue
        command, text = "", command[:-1]
        try:
            app.call("::history", "add", text)
        except tkinter.TclError:
            pass  # tclsh ignores what recording it gives
        try:
            result = _evaluate(app, text)
        except tkinter.TclError as exc:
            _write(app, "stderr", str(exc))
            continue
        if _interactive(app) and result:
            _write(app, "stdout", result)
