"""sendmessage's option list: parsing and validation with tcllib's messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tclbridge.errors import TclError
from tclbridge.tcllist import format_list

# Headers the caller may not set: mime owns them.
PROTECTED_HEADERS = ("content-type", "content-transfer-encoding", "content-md5", "mime-version")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
SURROGATE_ERRORCODE = ("TCLBRIDGE", "TEXT", "SURROGATE")


def refuse_unsendable(who: str, value: str, *, shown: bool = True) -> str:
    """A value that goes into an SMTP command (an address, the EHLO name,
    an AUTH credential). A CR or LF would end the command and start
    another; tcllib sends it, we refuse (COMPAT `command-injection`). A lone
    surrogate (a character to Tcl, "\\ud800") has no bytes a server could
    read: tcllib sends its low byte, a NUL; we refuse (COMPAT
    `lone-surrogate`). `shown` False keeps the value out of the message."""
    if "\r" in value or "\n" in value:
        raise TclError(f"error in {who}: line break in {value!r} (SMTP command injection refused)")
    found = _LONE_SURROGATE.search(value)
    if found:
        where = f" in {value!r}" if shown else ""
        raise TclError(
            f"error in {who}: lone surrogate U+{ord(found.group()):04X}{where} is not a"
            " character and cannot be sent", SURROGATE_ERRORCODE,
        )
    return value


def parse_boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise TclError(f"unknown boolean value: {value}")


@dataclass
class HeaderSet:
    """-header values by lower-case name, names in first-seen order, with the
    spelling first used (tcllib keeps the first spelling of each name)."""

    order: list[str] = field(default_factory=list)
    spelling: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, value: str) -> None:
        lower = name.lower()
        if lower not in self.values:
            self.order.append(lower)
            self.spelling[lower] = name
            self.values[lower] = []
        self.values[lower].append(value)

    def remove(self, lower: str) -> None:
        self.order.remove(lower)
        del self.spelling[lower]
        del self.values[lower]

    def __contains__(self, lower: object) -> bool:
        return lower in self.values

    def joined(self, lower: str) -> str:
        return ",".join(self.values[lower])

    def items(self) -> list[tuple[str, str]]:
        """(spelling, value) pairs in the order tcllib adds them."""
        return [(self.spelling[k], v) for k in self.order for v in self.values[k]]


@dataclass
class SendOptions:
    atleastone: bool = False
    debug: bool = False
    queue: bool = False
    usetls: bool = True
    tlspolicy: str = ""
    tlsimport: bool = False
    maxsecs: str = "120"  # as written; Tcl's expr semantics apply (FinalWait)
    originator: str = ""
    # tcllib remembers that -originator "" was given, even if a later
    # -originator sets a value.
    null_originator: bool = False
    recipients: str = ""
    servers: list[str] = field(default_factory=lambda: ["localhost"])
    servers_text: str = "localhost"
    ports: list[str] = field(default_factory=lambda: ["25"])
    client: str = ""
    username: str = ""
    password: str = ""
    headers: HeaderSet = field(default_factory=HeaderSet)

    def __repr__(self) -> str:  # never show the password
        return f"SendOptions(servers={self.servers!r}, username={self.username!r}, ...)"


def _hide_password(args: list[str], args_text: str) -> str:
    """tcllib quotes the whole list back, password included (COMPAT auth-hidden)."""
    if "-password" not in args[:-1]:
        return args_text
    return format_list(
        "<hidden>" if i and args[i - 1] == "-password" else word for i, word in enumerate(args)
    )


def parse_options(
    args: list[str],
    args_text: str,
    split_list: Callable[[str], list[str]],
    validate_header: Callable[[str, str], None],
) -> SendOptions:
    """Parse sendmessage's `args`. `args_text` is the list as the script wrote
    it (tcllib quotes it back in the odd-length error)."""
    if len(args) % 2:
        shown = _hide_password(args, args_text)
        raise TclError(f"Each option must have a value!  Invalid option list: {shown}")
    opts = SendOptions()
    for option, value in zip(args[::2], args[1::2], strict=True):
        if option in ("-atleastone", "-debug", "-queue", "-usetls", "-tlsimport"):
            setattr(opts, option[1:], parse_boolean(value))
        elif option == "-tlspolicy":
            opts.tlspolicy = value
        elif option == "-maxsecs":
            opts.maxsecs = value
        elif option == "-header":
            pair = split_list(value)
            if len(pair) != 2:
                raise TclError(f"-header expects a key and a value, not {value}")
            name, text = pair
            if name.lower() in PROTECTED_HEADERS:
                raise TclError(
                    "Content-Type, Content-Transfer-Encoding, Content-MD5, "
                    "and MIME-Version cannot be user-specified."
                )
            validate_header(name, text)
            opts.headers.add(name, text)
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
            opts.password = value
            if _LONE_SURROGATE.search(value):
                refuse_unsendable("-password", value, shown=False)
        else:
            raise TclError(f"unknown option {option}")
    return opts
