"""`tclbridge.load_tcl(path)`: Python code calling the procs of a legacy Tcl file.

    report = load_tcl("nightly_report.tcl")
    refused = report.call("send_report", "mail.example.com", "25")
    refused = report.send_report("mail.example.com", "25")   # the same

The file is sourced into a bridge interpreter (`tclbridge.Interp`: tcllib's
smtp and mime are the bridge's, `tclbridge::call` is there) with an empty
`argv`. `argv0` is not the file, so a script's main part guarded by
`if {[info script] eq $argv0}` does not run. Arguments are converted as
`tclbridge::call` converts results (str/int/float as they are, bool -> 1/0,
None -> "", list/tuple -> Tcl list, dict -> Tcl dict); results come back as
strings (`call_list` splits a list result).

A Tcl error raises `TclCallError` (message, errorCode, errorInfo); a proc
that passes on sendmessage's return code 7 raises `SMTPRefusedError`, as
`tclbridge.smtp.sendmessage` would.

`exit` cannot end the Python process: while the file is sourced, `exit` (or
`exit 0`) stops sourcing there, keeping the procs defined so far, and
`exit N` raises `TclCallError`; in a later call, `exit N` raises
`TclCallError` with errorCode {TCLBRIDGE EXIT N}.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tclbridge.interp import Interp
from tclbridge.smtp.protocol import Reply
from tclbridge.tcl import errorcodes
from tclbridge.tcl.boundary import SMTP_FAILURE, TCL_OK, to_tcl
from tclbridge.tcl.exit_proc import exit_proc

if TYPE_CHECKING:
    from tclbridge.smtp.exceptions import SMTPRefusedError

# Runs a command at global level and reports its outcome as a list
# {code result errorCode errorInfo}. It is run through `eval`, whose result
# tkinter hands over as a string (a `call` result would come back as Python
# objects of whatever type Tcl last gave the value).
_INVOKE = r"""
proc ::tclbridge::invoke {args} {
    set code [catch {uplevel #0 $args} result options]
    set errorcode [expr {[dict exists $options -errorcode] ? [dict get $options -errorcode] : ""}]
    set errorinfo [expr {[dict exists $options -errorinfo] ? [dict get $options -errorinfo] : ""}]
    return [list $code $result $errorcode $errorinfo]
}
"""

# tkinter's interpreters have no `exit`; this one ends the running Tcl code
# with an error that Python recognizes by its errorCode.
_EXIT = exit_proc(
    f"return -code error -errorcode [list {' '.join(errorcodes.EXIT_PREFIX)} $code] "
    '"exit $code: a Tcl file loaded with tclbridge.load_tcl cannot end the Python process"'
)


class TclCallError(Exception):
    """A Tcl error (or another return code than ok) from a loaded file."""

    def __init__(self, message: str, code: int, errorcode: str, errorinfo: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.errorcode = errorcode
        self.errorinfo = errorinfo


class TclModule:
    """A Tcl file loaded into its own bridge interpreter."""

    def __init__(self, path: str | os.PathLike[str], interp: Interp | None = None) -> None:
        self.path = os.fspath(path)
        self.interp = interp or Interp()
        self.interp.eval(_INVOKE)
        self.interp.eval(_EXIT)
        self.interp.call("set", "::argv", "")
        self.interp.call("set", "::argc", "0")
        try:
            self._source()
        except BaseException:
            if interp is None:
                self.interp.close()
            raise

    def _source(self) -> None:
        """Source the file; `exit 0` there ends the sourcing, as tclsh would end."""
        try:
            self._invoke("source", self.path)
        except TclCallError as exc:
            status = self._exit_status(exc.errorcode)
            if status is None:
                raise
            if status != 0:
                raise TclCallError(f"{self.path} called exit {status} while being loaded",
                                   exc.code, exc.errorcode, exc.errorinfo) from None

    def call(self, command: str, *args: object) -> str:
        """Run Tcl command (a proc) `command` with `args`; its result as a string."""
        return self._invoke(command, *(to_tcl(arg) for arg in args))

    def call_list(self, command: str, *args: object) -> list[str]:
        """`call`, with the result split as a Tcl list."""
        return self.split_list(self.call(command, *args))

    def split_list(self, text: str) -> list[str]:
        """The elements of Tcl list `text`."""
        return [str(item) for item in self.interp.tk.tk.splitlist(text)]

    def eval(self, script: str) -> str:
        return self.call("eval", script)

    def _exit_status(self, errorcode: str) -> int | None:
        """N if `errorcode` is our `exit N`'s {TCLBRIDGE EXIT N}, else None."""
        words = self.split_list(errorcode)
        if len(words) == 3 and tuple(words[:2]) == errorcodes.EXIT_PREFIX:
            return int(words[2])
        return None

    def getvar(self, name: str) -> str:
        return self.call("set", name)

    def __getattr__(self, name: str) -> Callable[..., str]:
        """`module.procname(*args)` is `module.call("procname", *args)`."""
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.call(name, *args)

    def close(self) -> None:
        self.interp.close()

    def __enter__(self) -> TclModule:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _invoke(self, *words: object) -> str:
        self.interp.call("set", "::tclbridge::invoke_words", words)
        outcome = self.interp.eval("::tclbridge::invoke {*}$::tclbridge::invoke_words")
        code_text, result, errorcode, errorinfo = self.interp.tk.tk.splitlist(outcome)
        code = int(code_text)
        if code == TCL_OK:
            return result
        refused = refused_from_tcl(code, result, self.split_list)
        if refused is not None:
            raise refused
        raise TclCallError(result, code, errorcode, errorinfo)


def refused_from_tcl(
    code: int, result: str, split_list: Callable[[str], list[str]]
) -> SMTPRefusedError | None:
    """Return code 7 (a proc passing sendmessage's on) as the Python API's
    `SMTPRefusedError`, None for any other code. Where it was refused is not
    known; the code and diagnostic are read back from tcllib's reply list
    (`diagnostic TEXT args {...} code N` or `code N diagnostic TEXT`), and
    `tcl_result` is the result as the proc gave it (split as a list)."""
    if code != SMTP_FAILURE:
        return None
    from tclbridge.smtp.exceptions import SMTPRefusedError  # smtplib: on first use

    given: list[str] | str = split_list(result) if result else ""
    reply = _reply_in(given)
    if reply is not None:
        return SMTPRefusedError(reply.diagnostic, reply.code, given)
    # No reply list: the diagnostic is the split list written as Python writes it.
    return SMTPRefusedError(str(given) if given != "" else "", None, given)


def _reply_in(result: Sequence[str] | str) -> Reply | None:
    """The reply a reply list holds; None if `result` is no reply list."""
    if isinstance(result, str) or len(result) % 2:
        return None
    fields = {str(k): v for k, v in zip(result[::2], result[1::2], strict=True)}
    try:
        return Reply(int(str(fields["code"])), str(fields.get("diagnostic", "")))
    except (KeyError, ValueError):
        return None


def load_tcl(path: str | os.PathLike[str], interp: Interp | None = None) -> TclModule:
    """Source the Tcl file at `path` into a bridge interpreter (a new one
    unless `interp` is given) and return it as a `TclModule`."""
    return TclModule(path, interp)
