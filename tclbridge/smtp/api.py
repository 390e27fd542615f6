"""`tclbridge.smtp.sendmessage`: tcllib's `smtp::sendmessage` for Python code.

The same engine as the Tcl command, step for step: the keyword arguments
build the `SendOptions` the Tcl command builds from its option list (with
tcllib's checks and messages), the envelope and the added headers come
from `derive`, and `Session` talks to the servers. Only the ends differ:

- the message may be an `email.message.Message` (an `EmailMessage`), its
  bytes, or a bridge part (`tclbridge.mime.Part`); an email message is
  converted as `tclbridge.mime.from_email` says, and its top-level headers
  that are not Content-* are passed as `-header` options (before `headers`);
- the call blocks in the calling thread (no Tcl interpreter, no event loop);
- failures are exceptions (`tclbridge.smtp.exceptions`) instead of Tcl
  errors and return code 7; the refused recipients are returned as a list.
  `python_error` below is the one place that maps the engine's results to
  them.

Example::

    from email.message import EmailMessage
    from tclbridge.smtp import sendmessage

    msg = EmailMessage()
    msg["From"] = "reports@example.com"
    msg["To"] = "ops@example.com"
    msg["Subject"] = "Nightly report"
    msg.set_content("All hosts up.\\n")
    refused = sendmessage(msg, servers=["mail.example.com"], atleastone=True)
"""

from __future__ import annotations

import codecs
import email
import email.message
import email.policy
import math
from collections.abc import Callable, Iterable, Sequence
from typing import cast

from tclbridge.config import BridgeConfig, process_config
from tclbridge.engine_errors import MimeError, UsageError
from tclbridge.mime.from_email import envelope_headers, to_part
from tclbridge.mime.model import Part
from tclbridge.smtp.conversation import DebugLog, stderr_debug_log
from tclbridge.smtp.envelope import derive
from tclbridge.smtp.exceptions import (
    SMTPConnectError,
    SMTPDataRefusedError,
    SMTPError,
    SMTPSenderRefusedError,
    SMTPUsageError,
)
from tclbridge.smtp.options import SendOptions, TlsPolicy, check_password, refuse_unsendable
from tclbridge.smtp.protocol import reply_list
from tclbridge.smtp.results import ConnectFailed, Refused, RefusedRecipient, SendFailure, Step
from tclbridge.smtp.rules import TCLLIB
from tclbridge.smtp.session import Session
from tclbridge.smtp.settings import settings_from_config

__all__ = ["MessageInput", "RefusedRecipient", "python_error", "sendmessage"]

MessageInput = email.message.Message | bytes | str | Part


def sendmessage(
    message: MessageInput,
    *,
    servers: str | Sequence[str] = ("localhost",),
    ports: int | str | Sequence[int | str] = (25,),
    originator: str | None = None,
    recipients: str | Sequence[str] | None = None,
    headers: Iterable[tuple[str, str]] = (),
    atleastone: bool = False,
    queue: bool = False,
    usetls: bool = True,
    tlspolicy: TlsPolicy | None = None,
    tlsimport: bool = False,
    username: str = "",
    password: str = "",
    client: str = "",
    maxsecs: float = TCLLIB.maxsecs,
    debug: bool | Callable[[str], None] = False,
    config: BridgeConfig | None = None,
    encoding: str = "utf-8",
) -> list[RefusedRecipient]:
    """Send `message` as `smtp::sendmessage` would; return the refused recipients.

    Each argument is the tcllib option of the same name (`headers` is a list
    of `-header` pairs, `recipients` a list or tcllib's comma-separated
    string, `originator=""` is tcllib's `-originator {}`). `tlspolicy` is
    called with the code and diagnostic of a failed STARTTLS or certificate
    check and returns "secure" (give up the server) or "insecure" (go on).
    `debug` True writes tcllib's -debug lines to stderr; a callable gets
    them instead. `config` holds the bridge's settings (trusted CA files, TLS
    verification, timeouts, a server override), read from the environment
    by default as for `tclbridge run`; `encoding` is the charset the message
    text is written in (Tcl's system encoding for scripts).

    An empty list means every recipient was accepted. With refusals and
    `atleastone` False the message was not sent (tcllib's RSET); with
    `atleastone` True it went to the others.

    Raises `SMTPUsageError` (bad option, address or header: nothing was
    sent), `SMTPConnectError` (no server took the connection) or
    `SMTPRefusedError` (MAIL FROM, DATA or the end of the data refused, or
    the connection lost: tcllib's return code 7; `SMTPSenderRefusedError`
    or `SMTPDataRefusedError` says which); each carries `code` and
    `diagnostic`, and is the smtplib exception of the same meaning.
    """
    _check_types(locals())
    try:
        part, message_headers = _bridge_part(message, encoding)
        opts = SendOptions(
            servers=[str(s) for s in ([servers] if isinstance(servers, str) else servers)],
            ports=[str(p) for p in ([ports] if isinstance(ports, (int, str)) else ports)],
            atleastone=bool(atleastone), queue=bool(queue), usetls=bool(usetls),
            tlsimport=bool(tlsimport), tlspolicy=tlspolicy, debug=_debug_log(debug),
            final_wait=TCLLIB.final_wait(maxsecs),
        )
        if originator is not None:
            opts.originator = originator
            opts.null_originator = originator == ""
        if recipients is not None:
            opts.recipients = recipients if isinstance(recipients, str) else ", ".join(recipients)
        # Checked in the order the Tcl command checks its options.
        for name, value in [*message_headers, *headers]:
            opts.add_header(name, value)
        opts.client = refuse_unsendable("-client", client) if client else ""
        opts.username = refuse_unsendable("-username", username) if username else ""
        opts.password = check_password(password) if password else ""
        envelope = derive(opts, part)
        settings = settings_from_config(config or process_config(), encoding=encoding)
        sent = Session(opts, envelope, settings).run()
    except (UsageError, MimeError, SendFailure) as exc:
        raise python_error(exc) from None
    return sent.refused


def python_error(outcome: UsageError | MimeError | SendFailure) -> SMTPError:
    """The Python exception for an outcome of the engine, built from its
    data; its `tcl_result` is what a Tcl script sees for the same outcome
    (tclbridge.tcl.boundary). A mime error (the message cannot be built: a
    bad header, a file that cannot be read) is a usage error: nothing was
    sent."""
    if isinstance(outcome, (UsageError, MimeError)):
        return SMTPUsageError(outcome.text, tcl_result=outcome.text)
    if isinstance(outcome, Refused):
        reply = outcome.reply
        tcl_result: str | list[str | list[str]]
        if reply is None:  # tcllib read no reply (-maxsecs 0): its result is ""
            code, diagnostic, tcl_result = None, "", ""
        else:
            code, diagnostic, tcl_result = reply.code, reply.diagnostic, reply_list(reply)
        if outcome.step is Step.MAIL:
            return SMTPSenderRefusedError(diagnostic, code, tcl_result, sender=outcome.sender)
        return SMTPDataRefusedError(diagnostic, code, tcl_result)
    if isinstance(outcome, ConnectFailed):
        # tcllib's text, or (-tlspolicy giving up) the greeting's reply list.
        greeting = outcome.greeting
        return SMTPConnectError(outcome.reason, outcome.starttls_code,
                                reply_list(greeting) if greeting is not None else outcome.reason)
    raise TypeError(f"not an outcome of the engine: {outcome!r}")


# Argument -> (accepted types, what to call them). Sequences are checked item by item.
_ARGUMENT_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "message": ((Part, bytes, str, email.message.Message),
                "an email.message.Message, bytes, str or a bridge mime part"),
    "servers": ((str,), "a host name or a sequence of them"),
    "ports": ((int, str), "a port or a sequence of them"),
    "originator": ((str, type(None)), "a str or None"),
    "recipients": ((str,), "a str or a sequence of str"),
    "atleastone": ((bool, int), "a bool"), "queue": ((bool, int), "a bool"),
    "usetls": ((bool, int), "a bool"), "tlsimport": ((bool, int), "a bool"),
    "username": ((str,), "a str"), "password": ((str,), "a str"), "client": ((str,), "a str"),
    "maxsecs": ((int, float), "a number"), "encoding": ((str,), "a str"),
}
_SEQUENCE_ARGUMENTS = {"servers", "ports", "recipients"}


def _type_ok(item: object, types: tuple[type, ...]) -> bool:
    if isinstance(item, bool) and bool not in types:
        return False  # True is not a port or a number of seconds
    return isinstance(item, types)


def _check_types(arguments: dict[str, object]) -> None:
    """Wrong types are usage errors, said in the caller's terms."""
    for name, (types, what) in _ARGUMENT_TYPES.items():
        value = arguments[name]
        if name == "recipients" and value is None:
            continue
        items: Sequence[object] = [value]
        if name in _SEQUENCE_ARGUMENTS and isinstance(value, Sequence) and not isinstance(
                value, (str, bytes)):
            items = value
        if not all(_type_ok(item, types) for item in items):
            raise SMTPUsageError(f"{name} must be {what}, not {value!r}")
    # maxsecs and encoding have the types checked above.
    if not math.isfinite(cast(float, arguments["maxsecs"])):
        raise SMTPUsageError(f"maxsecs must be a finite number, not {arguments['maxsecs']!r}")
    try:
        codecs.lookup(cast(str, arguments["encoding"]))
    except LookupError:
        raise SMTPUsageError(f"unknown encoding {arguments['encoding']!r}") from None
    config = arguments["config"]
    if config is not None and not isinstance(config, BridgeConfig):
        raise SMTPUsageError(f"config must be a BridgeConfig or None, not {config!r}")
    if isinstance(arguments["headers"], (str, bytes)) or not isinstance(
            arguments["headers"], Iterable):
        raise SMTPUsageError(f"headers must be (name, value) pairs, not {arguments['headers']!r}")
    for pair in arguments["headers"]:
        if not (isinstance(pair, Sequence) and len(pair) == 2
                and all(isinstance(x, str) for x in pair)):
            raise SMTPUsageError(f"headers must be (name, value) pairs of str, not {pair!r}")
    for name in ("tlspolicy", "debug"):
        value = arguments[name]
        if value is not None and not isinstance(value, bool) and not callable(value):
            raise SMTPUsageError(f"{name} must be callable, not {value!r}")


def _bridge_part(message: MessageInput, encoding: str) -> tuple[Part, list[tuple[str, str]]]:
    """The part to send and the message's own -header pairs."""
    if isinstance(message, Part):
        return message, []
    try:
        if isinstance(message, bytes):
            message = email.message_from_bytes(message, policy=email.policy.default)
        elif isinstance(message, str):
            message = email.message_from_string(message, policy=email.policy.default)
        return to_part(message, encoding, top=True), envelope_headers(message)
    except RecursionError:
        # The standard library's parser and to_part recurse once per MIME
        # level: a message nested some hundreds deep is refused, not a crash.
        raise SMTPUsageError("the message's MIME parts are nested too deeply for the engine"
                             " to send") from None


def _debug_log(debug: bool | Callable[[str], None]) -> DebugLog | None:
    if callable(debug):
        return debug
    if debug:
        return stderr_debug_log
    return None
