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
from typing import Any

from tclbridge.config import BridgeConfig
from tclbridge.errors import ScriptError
from tclbridge.mime.charsets import python_codec
from tclbridge.smtp.envelope import MimeCalls, MissingPart, derive
from tclbridge.smtp.handshake import Connector
from tclbridge.smtp.options import TlsPolicy
from tclbridge.smtp.results import Sent
from tclbridge.smtp.rules import TCLLIB, FinalWait
from tclbridge.smtp.session import Session
from tclbridge.smtp.settings import settings_from_config
from tclbridge.smtp.transport import SocketTransport
from tclbridge.tcl import checked
from tclbridge.tcl.boundary import sent_result
from tclbridge.tcl.command_sets import SMTP_FINISH, SMTP_START
from tclbridge.tcl.host import CommandHost
from tclbridge.tcl.maxsecs import TclMaxsecs, UnusableWait
from tclbridge.tcl.smtp_options import parse_options
from tclbridge.tcl.text import from_tk, to_tk
from tclbridge.tcl.tokens import no_such_part

DONE_VAR = "::tclbridge::smtp::done"


class SmtpCommands:
    def __init__(self, host: CommandHost, config: BridgeConfig) -> None:
        self.tk = host.app
        self.split_list = host.split_list
        self.tokens = host.tokens
        self.link = host.link
        self.config = config
        self._ids = itertools.count(1)
        self._finished: dict[str, tuple[Sent | BaseException, MimeCalls]] = {}
        # How sessions open connections (tests substitute a transport).
        self.connector: Connector = SocketTransport.connect
        host.register(SMTP_START, self.start)
        host.register(SMTP_FINISH, self.finish)

    def start(self, token: str, args_text: str) -> str:
        tk = self.tk
        parsed = parse_options(self.split_list(args_text), args_text, self.split_list)
        opts = parsed.options
        # tcllib evaluates -maxsecs while it reads the options.
        final_wait = self._final_wait(parsed.maxsecs)
        opts.tlspolicy = self._policy_caller(parsed.tlspolicy)
        calls = MimeCalls()
        try:
            envelope = derive(
                opts, self.tokens.find(token),
                user=from_tk(tk.globalgetvar("tcl_platform", "user")), calls=calls,
            )
        except MissingPart:
            raise no_such_part() from None
        finally:
            self.tokens.skip_numbers(calls.address_lists)
        if isinstance(final_wait, ScriptError):
            raise final_wait  # tcllib: only after the message went out (docs/COMPAT.md)
        opts.final_wait = final_wait
        settings = settings_from_config(
            self.config,
            hostname=str(tk.call("info", "hostname")),
            encoding=python_codec(str(tk.call("encoding", "system"))),
            connect=self.connector,
        )
        session = Session(opts, envelope, settings)
        job = str(next(self._ids))

        def work() -> Sent | BaseException:
            try:
                return session.run()
            except BaseException as exc:  # noqa: BLE001 - reported by finish()
                return exc

        def done(result: Sent | BaseException) -> None:
            self._finished[job] = (result, calls)
            tk.setvar(f"{DONE_VAR}({job})", "1")

        self.link.start_thread(work, done)
        return job

    def _final_wait(self, maxsecs: str) -> FinalWait | ScriptError:
        """How long to wait for the reply to the final dot, or the error
        tcllib would meet there. Raises what tcllib raises at once."""
        tk = self.tk
        try:
            return TCLLIB.final_wait(TclMaxsecs(tk, maxsecs))
        except checked.TclError as exc:
            # Our call of Tcl's expr failed (checked.TclError, towards
            # Python); the script sees the same error, as tcllib's own expr
            # fails the same way (NaN: a domain error): a ScriptError.
            raise ScriptError.passing_on(exc) from None
        except UnusableWait as exc:
            return ScriptError(str(exc))

    def _policy_caller(self, policy: str) -> TlsPolicy | None:
        """-tlspolicy's command, called in the Tcl thread as tcllib calls it."""
        if not policy:
            return None
        tk = self.tk

        def call(code: int, diagnostic: str) -> str:
            return self.link.call(
                lambda: str(tk.call(
                    "::tclbridge::smtp::tls_policy", to_tk(policy), code, to_tk(diagnostic)
                ))
            )

        return call

    def finish(self, job: str) -> Any:
        """The send's outcome: tcllib's result, or (raised) the engine's
        failure, which the boundary makes a Tcl error or return code 7."""
        tk = self.tk
        tk.unsetvar(f"{DONE_VAR}({job})")
        outcome, calls = self._finished.pop(job)
        self.tokens.skip_numbers(calls.parts)
        if isinstance(outcome, BaseException):
            raise outcome
        return sent_result(outcome, lambda lists: from_tk(tk.call("string", "cat", *to_tk(lists))))


def install(host: CommandHost, config: BridgeConfig) -> SmtpCommands:
    return SmtpCommands(host, config)
