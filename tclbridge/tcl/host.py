"""What the Tcl command modules (mime, smtp, `tclbridge::call`) may use of
the interpreter that owns them, and nothing more.

`Interp` makes one `CommandHost` and hands it to each command module; the
modules never see the `Interp` (so they cannot import it, and what they
depend on is written here).
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from typing import Any

from tclbridge.errors import ScriptError
from tclbridge.tcl import checked
from tclbridge.tcl.boundary import tcl_command
from tclbridge.tcl.eventloop import MainThreadLink
from tclbridge.tcl.text import from_tk
from tclbridge.tcl.tokens import PartTokens
from tclbridge.tcllist import split_list


class CommandHost:
    """One interpreter as its command modules see it: its Tcl app, command
    registration, checked calls, the mime token table and the link that lets
    worker threads reach the Tcl thread."""

    def __init__(self, app: Any) -> None:
        # The Tcl app (`tkinter.Tcl().tk`): call it in the Tcl thread only.
        self.app = app
        self.tokens = PartTokens()
        self.link = MainThreadLink(app)
        self._registered: list[str] = []

    def register(self, name: str, func: Callable[..., Any]) -> None:
        """Make `func` the Python side of Tcl command `name`."""
        self.app.createcommand(name, tcl_command(func))
        self._registered.append(name)

    def call(self, *args: Any) -> Any:
        """A Tcl command; an error raises checked.TclError with its errorCode."""
        return checked.call(self.app, *args)

    def eval(self, script: str) -> str:
        """A Tcl script; an error raises checked.TclError with its errorCode."""
        return checked.evaluate(self.app, script)

    def split_list(self, text: str) -> list[str]:
        """Tcl's parsing of `text` (Tcl's characters) as a list; a bad
        list raises ScriptError with Tcl's message, for the script."""
        try:
            return split_list(self.app, text)
        except tkinter.TclError as exc:
            raise ScriptError(from_tk(str(exc))) from None

    def close(self) -> None:
        """Close the link (its pipe and file handler) and delete the commands
        registered here."""
        self.link.close()
        while self._registered:
            try:
                self.app.deletecommand(self._registered.pop())
            except tkinter.TclError:
                pass  # the script renamed or deleted it
