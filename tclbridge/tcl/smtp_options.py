"""`::smtp::sendmessage`'s option list -> the engine's `SendOptions`.

What only a Tcl list can get wrong (an odd length, an unknown option, a
boolean's spelling, a -header that is not a pair) fails here with tcllib's
texts; the values are checked by `SendOptions` itself, as for Python
callers. -maxsecs and -tlspolicy stay text: the command evaluates them in
Tcl (`ParsedOptions`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tclbridge.engine_errors import UsageError
from tclbridge.listform import format_list
from tclbridge.smtp.conversation import stderr_debug_log
from tclbridge.smtp.options import SendOptions, check_password, refuse_unsendable
from tclbridge.smtp.rules import TCLLIB

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_BOOLEANS = ("-atleastone", "-debug", "-queue", "-usetls", "-tlsimport")


@dataclass
class ParsedOptions:
    options: SendOptions
    maxsecs: str = str(TCLLIB.maxsecs)  # as written; Tcl's expr rules apply
    tlspolicy: str = ""  # a Tcl command prefix, "" for none


def parse_boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(f"unknown boolean value: {value}")


def _hide_password(args: list[str], args_text: str) -> str:
    """tcllib quotes the whole list back, password included (COMPAT auth-hidden)."""
    if "-password" not in args[:-1]:
        return args_text
    return format_list(
        "<hidden>" if i and args[i - 1] == "-password" else word for i, word in enumerate(args)
    )


def parse_options(
    args: list[str], args_text: str, split_list: Callable[[str], list[str]]
) -> ParsedOptions:
    """Parse sendmessage's `args`. `args_text` is the list as the script wrote
    it (tcllib quotes it back in the odd-length error)."""
    if len(args) % 2:
        shown = _hide_password(args, args_text)
        raise UsageError(f"Each option must have a value!  Invalid option list: {shown}")
    parsed = ParsedOptions(SendOptions())
    opts = parsed.options
    for option, value in zip(args[::2], args[1::2], strict=True):
        if option in _BOOLEANS:
            flag = parse_boolean(value)
            if option == "-debug":
                opts.debug = stderr_debug_log if flag else None
            else:
                setattr(opts, option[1:], flag)
        elif option == "-tlspolicy":
            parsed.tlspolicy = value
        elif option == "-maxsecs":
            parsed.maxsecs = value
        elif option == "-header":
            pair = split_list(value)
            if len(pair) != 2:
                raise UsageError(f"-header expects a key and a value, not {value}")
            opts.add_header(*pair)
        elif option == "-originator":
            opts.originator = value
            if value == "":
                opts.null_originator = True
        elif option == "-recipients":
            opts.recipients = value
        elif option == "-servers":
            opts.servers = split_list(value)
            opts.servers_text = value
        elif option == "-ports":
            opts.ports = split_list(value)
        elif option == "-client":
            opts.client = refuse_unsendable("-client", value)
        elif option == "-username":
            # Sent base64-encoded, but a line break in a user name is never right.
            opts.username = refuse_unsendable("-username", value)
        elif option == "-password":
            opts.password = check_password(value)
        else:
            raise UsageError(f"unknown option {option}")
    return parsed
