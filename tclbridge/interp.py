"""The interpreter factory: a tkinter Tcl interpreter with the bridge's
`smtp` and `mime` packages installed ahead of tcllib's."""

from __future__ import annotations

import os
import sys
import threading
import tkinter
from collections.abc import Callable

from tclbridge import __version__
from tclbridge.config import BridgeConfig, process_config
from tclbridge.tcl import checked, errorcodes
from tclbridge.tcl.checked import TclError
from tclbridge.tcl.command_sets import COMMAND_SETS, MIME_COMMANDS, PYTHON_CALL

# typing is for type checkers only: importing it costs every `tclbridge run`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tclbridge.pycall import PythonCaller
    from tclbridge.tcl.host import CommandHost
    from tclbridge.tcl.mime_commands import MimeCommands
    from tclbridge.tcl.smtp_commands import SmtpCommands

__all__ = ["SHIM_DIR", "Interp", "TclError"]


def _shim_dir() -> str:
    """tcl_shims/ beside the package in a source tree; installed, the same
    files are the package data of tclbridge._shims."""
    package = os.path.dirname(os.path.realpath(__file__))
    source = os.path.join(os.path.dirname(package), "tcl_shims")
    if os.path.exists(os.path.join(source, "pkgIndex.tcl")):
        return source
    return os.path.join(package, "_shims")


SHIM_DIR = _shim_dir()

# The Python command that loads a command set (Interp._load).
_LOAD = "::tclbridge::py::load"

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
""" + "".join(
    f"::tclbridge::deferred {name} {{{' '.join(impls)}}}\n" for name, impls in COMMAND_SETS.items()
) + f"""
::tclbridge::forward ::tclbridge::call {PYTHON_CALL}
package provide tclbridge {__version__}
"""
# (The package's version is tclbridge's: it must stay a version Tcl reads,
# digits and dots, "a" or "b"; not PEP 440's "rc" or ".dev".)


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
        app = self.tk.tk
        _match_tclsh_encoding(app)
        app.eval("namespace eval ::tclbridge {}")
        app.setvar("::tclbridge::shims", SHIM_DIR)
        app.setvar("::tclbridge::mime_commands", MIME_COMMANDS)
        # The command sets (mime, smtp, tclbridge::call) are stand-ins until
        # first called: a script pays for the engine it uses, when it uses it.
        app.createcommand(_LOAD, self._load)
        checked.evaluate(app, _PACKAGE_SETUP)
        self._host: CommandHost | None = None
        self._sets: dict[str, Any] = {}

    @property
    def host(self) -> CommandHost:
        """What the command modules see of this interpreter (made on first use)."""
        if self._host is None:
            from tclbridge.tcl.host import CommandHost

            self._host = CommandHost(self.tk.tk)
        return self._host

    def _command_set(self, name: str) -> Any:
        """The command set `name` of COMMAND_SETS, installed on first use
        (its Python commands replace the stand-ins)."""
        if self.closed:
            return None
        found = self._sets.get(name)
        if found is None:
            if name == "mime":
                from tclbridge.tcl import mime_commands

                found = mime_commands.install(self.host)
            elif name == "smtp":
                from tclbridge.tcl import smtp_commands

                found = smtp_commands.install(self.host, self.config)
            else:
                from tclbridge import pycall

                found = pycall.install(self.host)
            self._sets[name] = found
        return found

    def _load(self, name: str) -> tuple[int, str, Any]:
        """`::tclbridge::py::load SET`, called by a stand-in: {code result
        errorcode} as the shims expect, never an exception into tkinter."""
        try:
            if self._command_set(name) is None:
                raise RuntimeError("the interpreter is closed")
        except Exception as exc:  # noqa: BLE001 - the script gets a Tcl error
            kind = type(exc).__name__
            return (1, f"tclbridge internal error loading its {name} commands: {kind}: {exc}",
                    errorcodes.internal(kind))
        return (0, "", "")

    @property
    def mime(self) -> MimeCommands:
        return self._command_set("mime")

    @property
    def smtp(self) -> SmtpCommands:
        return self._command_set("smtp")

    @property
    def python(self) -> PythonCaller:
        return self._command_set("python")

    def register(self, name: str, func: Callable[..., Any]) -> None:
        """Make `func` the Python side of Tcl command `name`."""
        self.host.register(name, func)

    def eval(self, script: str) -> str:
        """Evaluate `script`; a Tcl error raises `TclError` (a
        tkinter.TclError) with its errorCode and errorInfo."""
        return checked.evaluate(self.tk.tk, script)

    def call(self, *args: Any) -> Any:
        return checked.call(self.tk.tk, *args)

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
        try:
            self.tk.tk.deletecommand(_LOAD)
        except tkinter.TclError:
            pass  # the script renamed or deleted it
        if self._host is not None:
            self._host.close()
        # Break the Python cycles too, so that dropping this object frees it
        # (and its hold on the Tcl app) at once, in the caller's thread.
        self._sets.clear()
        _closed_interpreters.append((self._owner, self.tk.tk))
        _free_closed_interpreters()

    def __enter__(self) -> Interp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
