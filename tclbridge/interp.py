"""The interpreter factory: a tkinter Tcl interpreter with the bridge's
`smtp` and `mime` packages installed ahead of tcllib's."""

from __future__ import annotations

import os
import sys
import threading
import tkinter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tclbridge import pycall
from tclbridge.config import BridgeConfig, process_config
from tclbridge.tcl import mime_commands, smtp_commands
from tclbridge.tcl.checked import TclError
from tclbridge.tcl.host import CommandHost

__all__ = ["SHIM_DIR", "Interp", "TclError"]


def _shim_dir() -> Path:
    """tcl_shims/ beside the package in a source tree; installed, the same
    files are the package data of tclbridge._shims."""
    source = Path(__file__).resolve().parent.parent / "tcl_shims"
    if (source / "pkgIndex.tcl").exists():
        return source
    return Path(__file__).resolve().parent / "_shims"


SHIM_DIR = _shim_dir()

# Installed into every interpreter. `package unknown` is wrapped so that
# whatever index files a scan sources (tcllib's among them), the bridge's
# `ifneeded` scripts are the only ones left for smtp and mime.
_PACKAGE_SETUP = r"""
namespace eval ::tclbridge {
    variable shims
    variable next_unknown [package unknown]
}
proc ::tclbridge::claim_packages {} {
    variable shims
    foreach pkg {mime smtp} {
        if {[package provide $pkg] eq ""} {
            package forget $pkg
        }
    }
    set dir $shims
    source [file join $shims pkgIndex.tcl]
}
proc ::tclbridge::package_unknown {args} {
    variable next_unknown
    if {$next_unknown ne ""} {
        uplevel #0 $next_unknown $args
    }
    claim_packages
}
package unknown ::tclbridge::package_unknown
::tclbridge::claim_packages
source [file join $::tclbridge::shims bridge.tcl]
source [file join $::tclbridge::shims children.tcl]
"""


def _locale_was_coerced() -> bool:
    """Python switched a C/POSIX locale to UTF-8 at start-up (PEP 538/540);
    tclsh, started in the same environment, would not have."""
    return (
        sys.flags.utf8_mode == 1
        and "PYTHONUTF8" not in os.environ
        and "utf8" not in sys._xoptions
    )


def _match_tclsh_encoding(tk: Any) -> None:
    # In the C locale tclsh reads scripts and writes stdout as iso8859-1;
    # a cron job sees that, so the bridge must too.
    if _locale_was_coerced():
        tk.call("encoding", "system", "iso8859-1")
        for chan in ("stdin", "stdout", "stderr"):
            tk.call("fconfigure", chan, "-encoding", "iso8859-1")


# Closed interpreters' Tcl apps, each with the thread that made it (see
# Interp.close): freed by a sweep in that thread once nothing else uses them.
_closed_interpreters: list[tuple[int, Any]] = []


def _free_closed_interpreters() -> None:
    """Drop the parked Tcl apps of this thread that only the park refers to:
    their deletion then happens here, in the thread that made them."""
    me = threading.get_ident()
    for i in reversed(range(len(_closed_interpreters))):
        owner, app = _closed_interpreters[i]
        # References: the parked tuple, `app` here, getrefcount's argument.
        if owner == me and sys.getrefcount(app) <= 3:
            del app
            del _closed_interpreters[i]


class Interp:
    """A Tcl interpreter whose `smtp` and `mime` are the bridge's.

    >>> tcl = Interp()
    >>> tcl.eval("package require smtp")
    '1.5.2'
    """

    def __init__(self, config: BridgeConfig | None = None) -> None:
        _free_closed_interpreters()
        self.config = config or process_config()
        self.closed = False
        self._owner = threading.get_ident()
        self.tk = tkinter.Tcl()
        _match_tclsh_encoding(self.tk.tk)
        self.tk.eval("namespace eval ::tclbridge {}")
        self.tk.tk.setvar("::tclbridge::shims", str(SHIM_DIR))
        self.tk.eval(_PACKAGE_SETUP)
        # The command modules see this host, never the Interp.
        self._host = CommandHost(self.tk.tk)
        self.mime = mime_commands.install(self._host)
        self.smtp = smtp_commands.install(self._host, self.config)
        # tclbridge::call, for scripts that hand pieces of work to Python.
        self.python = pycall.install(self._host)

    def register(self, name: str, func: Callable[..., Any]) -> None:
        """Make `func` the Python side of Tcl command `name`."""
        self._host.register(name, func)

    def eval(self, script: str) -> str:
        """Evaluate `script`; a Tcl error raises `TclError` (a
        tkinter.TclError) with its errorCode and errorInfo."""
        return self._host.eval(script)

    def call(self, *args: Any) -> Any:
        return self._host.call(*args)

    def close(self) -> None:
        """Release the event-loop link, its pipe and the Python commands.

        The Python commands registered in Tcl refer back to this object, a
        cycle through C that the garbage collector cannot see: without
        close() the objects, the pipe and its Tcl file handler would live
        until the process ends (Tcl's notifier aborts the process once a
        descriptor passes FD_SETSIZE). The Tcl interpreter itself is kept:
        once unreferenced, Python could free it from whichever thread runs
        the garbage collector, and Tcl hangs when an interpreter is deleted
        outside the thread that made it: it is parked, and freed by a later
        close() or Interp() in its own thread once nothing else refers to it."""
        if self.closed:
            return
        self.closed = True
        self._host.close()
        # Break the Python cycles too, so that dropping this object frees it
        # (and its hold on the Tcl app) at once, in the caller's thread.
        self.mime = self.smtp = self.python = None  # type: ignore[assignment]
        _closed_interpreters.append((self._owner, self.tk.tk))
        _free_closed_interpreters()

    def __enter__(self) -> Interp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
