"""sendmessage's options, typed, and the checks both faces apply to them.

`tclbridge.smtp.sendmessage` builds `SendOptions` from its keyword
arguments; the Tcl command builds the same object from a Tcl option list
(tclbridge.tcl.smtp_options, with tcllib's messages for what only a list
can get wrong). The checks on values, with tcllib's texts, are here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tclbridge.engine_errors import UsageError, UsageKind
from tclbridge.mime.model import validate_header_value
from tclbridge.smtp.conversation import DebugLog
from tclbridge.smtp.rules import TCLLIB, FinalWait

# Headers the caller may not set: mime owns them.
PROTECTED_HEADERS = ("content-type", "content-transfer-encoding", "content-md5", "mime-version")

# Called as tcllib calls -tlspolicy: with a code and a diagnostic; returns
# "secure" (give up the server) or "insecure" (go on).
TlsPolicy = Callable[[int, str], str]

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def refuse_unsendable(who: str, value: str, *, shown: bool = True) -> str:
    """A value that goes into an SMTP command (an address, the EHLO name,
    an AUTH credential). A CR or LF would end the command and start
    another; tcllib sends it, we refuse (COMPAT `command-injection`). A lone
    surrogate (a character to Tcl, "\\ud800") has no bytes a server could
    read: tcllib sends its low byte, a NUL; we refuse (COMPAT
    `lone-surrogate`). `shown` False keeps the value out of the message."""
    if "\r" in value or "\n" in value:
        raise UsageError(
            f"error in {who}: line break in {value!r} (SMTP command injection refused)"
        )
    found = _LONE_SURROGATE.search(value)
    if found:
        where = f" in {value!r}" if shown else ""
        raise UsageError(
            f"error in {who}: lone surrogate U+{ord(found.group()):04X}{where} is not a"
            " character and cannot be sent", UsageKind.NOT_A_CHARACTER,
        )
    return value


def check_password(value: str) -> str:
    """A password is never shown; only a lone surrogate is refused (it is
    sent base64-encoded, so a line break cannot end the command)."""
    if _LONE_SURROGATE.search(value):
        refuse_unsendable("-password", value, shown=False)
    return value


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
    queue: bool = False
    usetls: bool = True
    tlsimport: bool = False
    tlspolicy: TlsPolicy | None = None
    # Where tcllib's -debug lines go; None is -debug 0.
    debug: DebugLog | None = None
    # -maxsecs: how long to wait for the reply to the final dot.
    final_wait: FinalWait = field(default_factory=lambda: TCLLIB.final_wait(TCLLIB.maxsecs))
    originator: str = ""
    # tcllib remembers that -originator "" was given, even if a later
    # -originator sets a value.
    null_originator: bool = False
    recipients: str = ""  # tcllib's comma-separated address list
    servers: list[str] = field(default_factory=lambda: ["localhost"])
    # -servers as the script wrote it (None: not written in Tcl).
    servers_text: str | None = None
    ports: list[str] = field(default_factory=lambda: ["25"])
    client: str = ""
    username: str = ""
    password: str = ""
    headers: HeaderSet = field(default_factory=HeaderSet)

    def __repr__(self) -> str:  # never show the password
        return f"SendOptions(servers={self.servers!r}, username={self.username!r}, ...)"

    def add_header(self, name: str, value: str) -> None:
        """A -header pair, checked as tcllib checks it (and for injection)."""
        if name.lower() in PROTECTED_HEADERS:
            raise UsageError(
                "Content-Type, Content-Transfer-Encoding, Content-MD5, "
                "and MIME-Version cannot be user-specified."
            )
        validate_header_value(name, value)
        self.headers.add(name, value)

    def servers_named_localhost(self) -> bool:
        """tcllib says EHLO localhost (not the host's name) when -servers is
        the word localhost, its default."""
        if self.servers_text is not None:
            return self.servers_text == "localhost"
        return self.servers == ["localhost"]
