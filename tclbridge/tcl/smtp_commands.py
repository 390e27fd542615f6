"""The smtp command layer: `::smtp::sendmessage` runs in two steps so that the
Tcl event loop keeps running while the session talks to the server.

    start PART ARGS  -> job id (options parsed, envelope derived, thread started)
    (the shim vwaits on ::tclbridge::smtp::done($id))
    finish ID        -> tcllib's result, return code 7, or an error

tcllib's sendmessage parses addresses and makes the Bcc digest through its
mime package, using up token numbers; the engine counts those calls
(`MimeCalls`) and this layer uses up the same numbers, so that the script's
next token is named as under tcllib.
"""

from __future__ import annotations

import itertools
import sys
import tkinter
from typing import TYPE_CHECKING, Any

from tclbridge.errors import SMTP_FAILURE, TCL_ERROR, TclError, TclFailure
from tclbridge.mime.charsets import python_codec
from tclbridge.mime.model import validate_header_value
from tclbridge.smtp.envelope import MimeCalls, MissingPart, derive
from tclbridge.smtp.handshake import Connector, TlsPolicy
from tclbridge.smtp.options import SendOptions, parse_options
from tclbridge.smtp.session import FinalWait, Outcome, Session
from tclbridge.smtp.settings import settings_from_config
from tclbridge.smtp.transport import SocketTransport
from tclbridge.tcl import checked
from tclbridge.tcl.eventloop import MainThreadLink
from tclbridge.tcl.mime_commands import no_such_part
from tclbridge.tcl.text import from_tk, to_tk
from tclbridge.tcllist import split_list

if TYPE_CHECKING:
    from tclbridge.interp import Interp

DONE_VAR = "::tclbridge::smtp::done"


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class SmtpCommands:
    def __init__(self, bridge: Interp) -> None:
        self.bridge = bridge
        self.link = MainThreadLink(bridge.tk.tk)
        self._ids = itertools.count(1)
        self._finished: dict[str, tuple[Outcome | BaseException, MimeCalls]] = {}
        # How sessions open connections (tests substitute a transport).
        self.connector: Connector = SocketTransport.connect
        bridge.register("::tclbridge::py::smtp::start", self.start)
        bridge.register("::tclbridge::py::smtp::finish", self.finish)

    def split_list(self, text: str) -> list[str]:
        try:
            return split_list(self.bridge.tk.tk, text)
        except tkinter.TclError as exc:
            raise TclError(from_tk(str(exc))) from None

    def start(self, token: str, args_text: str) -> str:
        tk = self.bridge.tk.tk
        opts = parse_options(
            self.split_list(args_text), args_text, self.split_list, validate_header_value
        )
        # tcllib evaluates -maxsecs while it reads the options.
        final_wait = self._final_wait(opts.maxsecs)
        mime = self.bridge.mime
        calls = MimeCalls()
        try:
            envelope = derive(
                opts, mime.find(token), user=from_tk(tk.globalgetvar("tcl_platform", "user")),
                calls=calls,
            )
        except MissingPart:
            raise no_such_part() from None
        finally:
            mime.skip_numbers(calls.address_lists)
        if isinstance(final_wait, TclError):
            raise final_wait  # tcllib: only after the message went out (docs/COMPAT.md)
        settings = settings_from_config(
            self.bridge.config,
            hostname=str(tk.call("info", "hostname")),
            encoding=python_codec(str(tk.call("encoding", "system"))),
            final_wait=final_wait,
            connect=self.connector,
        )
        session = Session(
            opts, envelope, settings, debug=_stderr_line, tls_policy=self._policy_caller(opts)
        )
        job = str(next(self._ids))

        def work() -> Outcome | BaseException:
            try:
                return session.run()
            except BaseException as exc:  # noqa: BLE001 - reported by finish()
                return exc

        def done(result: Outcome | BaseException) -> None:
            self._finished[job] = (result, calls)
            tk.setvar(f"{DONE_VAR}({job})", "1")

        self.link.start_thread(work, done)
        return job

    def _final_wait(self, maxsecs: str) -> FinalWait | TclError:
        """How long to wait for the reply to the final dot, or the error
        tcllib would meet there. Raises what tcllib raises at once."""
        tk = self.bridge.tk.tk
        try:
            answer = checked.call(tk, "::tclbridge::smtp::final_wait", to_tk(maxsecs))
        except checked.TclError as exc:
            # tcllib's own expr fails the same way (NaN: a domain error).
            raise TclError(from_tk(str(exc)), from_tk(exc.errorcode)) from None
        shown, mode, value = (str(v) for v in tk.splitlist(answer))
        if mode == "error":
            return TclError(value)
        return FinalWait(shown, None if mode == "nowait" else float(value))

    def _policy_caller(self, opts: SendOptions) -> TlsPolicy | None:
        if not opts.tlspolicy:
            return None
        tk = self.bridge.tk.tk

        def call(code: int, diagnostic: str) -> str:
            policy = opts.tlspolicy
            return self.link.call(
                lambda: str(tk.call(
                    "::tclbridge::smtp::tls_policy", to_tk(policy), code, to_tk(diagnostic)
                ))
            )

        return call

    def finish(self, job: str) -> Any:
        tk = self.bridge.tk.tk
        tk.unsetvar(f"{DONE_VAR}({job})")
        outcome, calls = self._finished.pop(job)
        self.bridge.mime.skip_numbers(calls.parts)
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome.code == TCL_ERROR:
            raise TclFailure(outcome.result, errorcode=outcome.errorcode)
        if outcome.code == SMTP_FAILURE:
            raise TclFailure(outcome.result, code=SMTP_FAILURE)
        lists = [tuple(tuple(item) for item in t) for t in outcome.transactions if t]
        if len(lists) > 1:
            # tcllib appends the Bcc transaction's list to the first as a string.
            return from_tk(tk.call("string", "cat", *to_tk(lists)))
        return lists[0] if lists else ""


def install(bridge: Interp) -> SmtpCommands:
    return SmtpCommands(bridge)
