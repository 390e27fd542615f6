"""The reference run of a user's script: real tclsh + tcllib, with every
connection tcllib's smtp opens sent to a given server instead.

tcllib's smtp 1.5.1 opens each connection with ``socket -async SERVER PORT``
from ``::smtp::initialize`` (``tls::import`` on that socket for -tlsimport;
STARTTLS also reuses it), so a preamble that wraps ``socket`` for calls from
the ``::smtp`` namespace redirects all of them, and nothing else: like the
bridge's ``--server``, other connections the script makes are left alone.
A -tlsimport connection speaks TLS from its first byte, so it goes to the
server's implicit-TLS port when one is given (as the bridge's
``--implicit-tls-server``): the wrapper reads the option from the
``options`` array initialize keeps in its frame.
Child interpreters the script creates get the same wrapper.
The preamble then runs the script as ``tclsh SCRIPT ARGS...`` would (argv0,
argv, argc; an uncaught error prints errorInfo and exits 1), and writes an
uncaught error's message where $TCLBRIDGE_ERROR_REPORT says, as `tclbridge run`
does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

INSTALL_COMMAND = "apt-get install -y tcl tcllib tcl-tls"
PROBE_TIMEOUT = 30.0

# Called as: tclsh PREAMBLE HOST PORT TLSPORT SCRIPT ARGS... (TLSPORT may be "")
PREAMBLE = r"""
namespace eval ::tclbridge_check {
    variable host [lindex $::argv 0]
    variable port [lindex $::argv 1]
    variable tlsport [lindex $::argv 2]
    variable redirect {
        rename ::socket ::tclbridge_check::socket
        proc ::socket {args} {
            # A client socket (host and port last) opened by tcllib's smtp
            # goes to the check's server; with -tlsimport (in the caller's
            # options array) to its implicit-TLS port.
            if {[llength $args] >= 2 && "-server" ni $args
                    && [uplevel 1 {namespace current}] eq "::smtp"} {
                set port $::tclbridge_check::port
                if {$::tclbridge_check::tlsport ne ""
                        && ![catch {uplevel 1 {expr {$options(-tlsimport) ? 1 : 0}}} tls]
                        && $tls} {
                    set port $::tclbridge_check::tlsport
                }
                set args [lreplace $args end-1 end $::tclbridge_check::host $port]
            }
            tailcall ::tclbridge_check::socket {*}$args
        }
    }
    # Child interpreters (and theirs) get the same redirection.
    variable guard {
        rename ::interp ::tclbridge_check::interp
        proc ::interp {args} {
            set child [uplevel 1 [list ::tclbridge_check::interp {*}$args]]
            set sub [lindex $args 0]
            if {[string length $sub] > 1 && [string first $sub create] == 0} {
                set setup [list namespace eval ::tclbridge_check [list variable \
                    host $::tclbridge_check::host port $::tclbridge_check::port \
                    tlsport $::tclbridge_check::tlsport \
                    redirect $::tclbridge_check::redirect guard $::tclbridge_check::guard]]
                ::tclbridge_check::interp eval $child $setup
                if {[::tclbridge_check::interp eval $child {info commands ::socket}] ne ""} {
                    ::tclbridge_check::interp eval $child $::tclbridge_check::redirect
                }
                ::tclbridge_check::interp eval $child $::tclbridge_check::guard
            }
            return $child
        }
    }
}
eval $::tclbridge_check::redirect
eval $::tclbridge_check::guard
# Where check wants the message of an uncaught error (as `tclbridge run`
# writes it); the script and its children do not see the variable.
set ::tclbridge_check::report ""
if {[info exists ::env(TCLBRIDGE_ERROR_REPORT)]} {
    set ::tclbridge_check::report $::env(TCLBRIDGE_ERROR_REPORT)
    unset ::env(TCLBRIDGE_ERROR_REPORT)
}
set argv0 [lindex $argv 3]
set argv [lrange $argv 4 end]
set argc [llength $argv]
if {[catch {source $argv0} ::tclbridge_check::result ::tclbridge_check::options] == 1} {
    # tclsh prints errorInfo, which here has one frame more: our `source`.
    set ::tclbridge_check::info [dict get $::tclbridge_check::options -errorinfo]
    set ::tclbridge_check::cut \
        [string last "\n    invoked from within\n\"source " $::tclbridge_check::info]
    if {$::tclbridge_check::cut >= 0} {
        set ::tclbridge_check::info \
            [string range $::tclbridge_check::info 0 $::tclbridge_check::cut-1]
    }
    puts stderr $::tclbridge_check::info
    if {$::tclbridge_check::report ne ""} {
        set ::tclbridge_check::file [open $::tclbridge_check::report w]
        fconfigure $::tclbridge_check::file -encoding utf-8 -translation lf
        puts -nonewline $::tclbridge_check::file $::tclbridge_check::result
        close $::tclbridge_check::file
    }
    exit 1
}
"""


def find_tclsh() -> str | None:
    """The first tclsh on PATH that is not tclbridge-tclsh: the drop-in, put
    first on PATH for scripts, must never be taken for the reference."""
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        found = shutil.which("tclsh", path=directory or os.curdir)
        if found is not None and not _is_drop_in(found):
            return found
    return None


def _is_drop_in(path: str) -> bool:
    """A script (tclsh is a binary) whose start names tclbridge: the console
    script of tclbridge-tclsh, or a launcher like it."""
    try:
        with open(path, "rb") as file:
            start = file.read(4096)
    except OSError:
        return False
    return start.startswith(b"#!") and b"tclbridge" in start


# tclsh reading commands from stdin prints an error and goes on to the next
# line (its exit status is then 0): the probe decides the status itself.
_PROBE = """
if {[catch {package require smtp; package require mime} message]} {
    puts stderr $message
    exit 1
}
if {[catch {package require tls} message]} {
    puts stderr $message
    exit 2
}
exit 0
"""


def tcllib_missing(tclsh: str | None) -> str | None:
    """None when `tclsh` runs and loads tcllib's smtp and mime and tcl-tls,
    else what is wrong."""
    if tclsh is None:
        return "tclsh is not installed (not found on PATH)"
    try:
        probe = subprocess.run([tclsh], input=_PROBE, capture_output=True, text=True,
                               timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"tclsh does not run: {error}"
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines()[:1] or ["no output"])[0]
        if probe.returncode == 2:
            # Check's servers offer STARTTLS: without tcl-tls tcllib would
            # stay in plain text and every session would differ.
            return f"tcl-tls does not load in tclsh (tcllib needs it for TLS): {reason}"
        return f"tcllib's smtp/mime do not load in tclsh: {reason}"
    return None


def write_preamble(directory: Path) -> Path:
    path = directory / "tclbridge_check_preamble.tcl"
    path.write_text(PREAMBLE, encoding="utf-8")
    return path


def reference_argv(tclsh: str, preamble: Path, server: tuple[str, int], script: str,
                   args: Sequence[str], implicit_tls_port: int | None = None) -> list[str]:
    """tclsh running `script` with tcllib's connections sent to `server`
    (-tlsimport ones to `implicit_tls_port` on its host, if given)."""
    host, port = server
    tls = "" if implicit_tls_port is None else str(implicit_tls_port)
    return [tclsh, str(preamble), host, str(port), tls, script, *args]
