"""`tclbridge.smtp.sendmessage`: tcllib's `smtp::sendmessage` for Python code.

The same engine as the Tcl command, step for step: the keyword arguments
become the option list that `::smtp::sendmessage` parses (`parse_options`,
with tcllib's checks and messages), the envelope and the added headers come
from `derive`, and `Session` talks to the servers. Only the ends differ:

- the message may be an `email.message.Message` (an `EmailMessage`), its
  bytes, or a bridge part (`tclbridge.mime.Part`); an email message is
  converted as `tclbridge.mime.from_email` says, and its top-level headers
  that are not Content-* are passed as `-header` options (before `headers`);
- the call blocks in the calling thread (no Tcl interpreter, no event loop);
- failures are exceptions (`tclbridge.smtp.exceptions`) instead of Tcl
  errors and return code 7; the refused recipients are returned as a list.

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
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from tclbridge.config import BridgeConfig, process_config
from tclbridge.errors import SMTP_FAILURE, TCL_ERROR, TclFailure
from tclbridge.mime.from_email import envelope_headers, to_part
from tclbridge.mime.model import Part, validate_header_value
from tclbridge.smtp.envelope import derive
from tclbridge.smtp.exceptions import SMTPUsageError, connect_failed, refused
from tclbridge.smtp.handshake import TlsPolicy
from tclbridge.smtp.options import SendOptions, parse_options
from tclbridge.smtp.session import FinalWait, Session
from tclbridge.smtp.settings import settings_from_config
from tclbridge.tcllist import format_list

MessageInput = email.message.Message | bytes | str | Part
# tcllib's longest wait for the reply to the final dot, in seconds.
MAX_FINAL_WAIT = 600


class RefusedRecipient(NamedTuple):
    """One `{address code diagnostic}` item of tcllib's result."""

    address: str
    code: int
    diagnostic: str


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
    maxsecs: float = 120,
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
    the connection lost: tcllib's return code 7); each carries `code` and
    `diagnostic`.
    """
    _check_types(locals())
    part, message_headers = _bridge_part(message, encoding)
    args = _OptionList()
    args.add_list("-servers", [servers] if isinstance(servers, str) else servers)
    args.add_list("-ports", [ports] if isinstance(ports, (int, str)) else ports)
    if originator is not None:
        args.add("-originator", originator)
    if recipients is not None:
        if not isinstance(recipients, str):
            recipients = ", ".join(recipients)
        args.add("-recipients", recipients)
    for pair in [*message_headers, *headers]:
        args.add_list("-header", pair)
    for name, flag in (
        ("-atleastone", atleastone), ("-queue", queue), ("-usetls", usetls),
        ("-tlsimport", tlsimport), ("-debug", bool(debug)),
    ):
        args.add(name, "1" if flag else "0")
    for name, value in (("-client", client), ("-username", username), ("-password", password)):
        if value:
            args.add(name, value)
    args.add("-maxsecs", str(maxsecs))
    try:
        opts = args.parse()
        envelope = derive(opts, part)
    except TclFailure as exc:
        raise SMTPUsageError(str(exc.result), tcl_result=exc.result) from None
    settings = settings_from_config(
        config or process_config(), encoding=encoding, final_wait=_final_wait(maxsecs)
    )
    session = Session(opts, envelope, settings, debug=_debug_log(debug), tls_policy=tlspolicy)
    outcome = session.run()
    if outcome.code == TCL_ERROR:
        raise connect_failed(outcome.result, outcome.errorcode)
    if outcome.code == SMTP_FAILURE:
        raise refused(outcome.result)
    return [
        RefusedRecipient(address, int(code), text)
        for transaction in outcome.transactions
        for address, code, text in transaction
    ]


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
        many = name in _SEQUENCE_ARGUMENTS and isinstance(value, Sequence) and not isinstance(
            value, (str, bytes))
        if not all(_type_ok(item, types) for item in (value if many else [value])):  # type: ignore[union-attr]
            raise SMTPUsageError(f"{name} must be {what}, not {value!r}")
    if not math.isfinite(arguments["maxsecs"]):  # type: ignore[arg-type]
        raise SMTPUsageError(f"maxsecs must be a finite number, not {arguments['maxsecs']!r}")
    try:
        codecs.lookup(arguments["encoding"])  # type: ignore[arg-type]
    except LookupError:
        raise SMTPUsageError(f"unknown encoding {arguments['encoding']!r}") from None
    config = arguments["config"]
    if config is not None and not isinstance(config, BridgeConfig):
        raise SMTPUsageError(f"config must be a BridgeConfig or None, not {config!r}")
    if isinstance(arguments["headers"], (str, bytes)) or not isinstance(
            arguments["headers"], Iterable):
        raise SMTPUsageError(f"headers must be (name, value) pairs, not {arguments['headers']!r}")
    for pair in arguments["headers"]:  # type: ignore[attr-defined]
        if not (isinstance(pair, Sequence) and len(pair) == 2
                and all(isinstance(x, str) for x in pair)):
            raise SMTPUsageError(f"headers must be (name, value) pairs of str, not {pair!r}")
    for name in ("tlspolicy", "debug"):
        value = arguments[name]
        if value is not None and not isinstance(value, bool) and not callable(value):
            raise SMTPUsageError(f"{name} must be callable, not {value!r}")


class _OptionList:
    """sendmessage's option list as a script would write it. List values
    are formatted as Tcl lists and split back to the very same items, so
    `parse_options` sees what the Tcl command sees without a Tcl interp."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self._lists: dict[str, list[str]] = {}

    def add(self, option: str, value: str) -> None:
        self.args += [option, value]

    def add_list(self, option: str, items: Iterable[object]) -> None:
        values = [str(item) for item in items]
        text = format_list(values)
        self._lists[text] = values
        self.add(option, text)

    def parse(self) -> SendOptions:
        return parse_options(
            self.args, format_list(self.args), self._lists.__getitem__, validate_header_value
        )


def _bridge_part(message: MessageInput, encoding: str) -> tuple[Part, list[tuple[str, str]]]:
    """The part to send and the message's own -header pairs."""
    if isinstance(message, Part):
        return message, []
    if isinstance(message, bytes):
        message = email.message_from_bytes(message, policy=email.policy.default)
    elif isinstance(message, str):
        message = email.message_from_string(message, policy=email.policy.default)
    try:
        return to_part(message, encoding, top=True), envelope_headers(message)
    except TclFailure as exc:
        raise SMTPUsageError(str(exc.result), tcl_result=exc.result) from None


def _final_wait(maxsecs: float) -> FinalWait:
    """tcllib's -maxsecs: negative counts as 0, which means it does not
    wait for the reply to the final dot; the wait is at most 600 s."""
    secs = max(maxsecs, 0)
    if secs == 0:
        return FinalWait(str(secs), None)
    return FinalWait(str(secs), float(min(secs, MAX_FINAL_WAIT)))


def _debug_log(debug: bool | Callable[[str], None]) -> Callable[[str], None] | None:
    if callable(debug):
        return debug
    if debug:
        return _stderr_line
    return None


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
