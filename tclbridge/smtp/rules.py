"""tcllib's wait times and abort rules, in one object the session reads.

Scripts see these: the seconds are in every -debug line ("wait upto 300
seconds"), and a script that aborts or times out sees what tcllib's rules
give. The bridge's settings scale the waits (`timeout_scale`, for tests);
the rules themselves are tcllib's and are changed here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from tclbridge.smtp.states import Event

# Seconds tcllib waits for the reply to each command.
_WAITS: dict[Event, int] = {
    # Connecting (every address of the name), implicit TLS and the greeting
    # share one window, as tcllib's `socket -async` and its 600 s wait.
    Event.GREETING: 600,
    Event.EHLO: 300,
    Event.HELO: 300,
    Event.ONEX: 300,
    Event.QUED: 300,
    Event.STARTTLS: 300,
    Event.TLS: 300,  # the handshake after STARTTLS
    Event.AUTH: 300,
    Event.AUTH_RESPONSE: 300,
    Event.AUTH_CANCEL: 300,
    Event.MAIL: 600,
    Event.RCPT: 3600,
    Event.DATA: 300,
    Event.RSET: 300,
    Event.QUIT: 120,
}


class MaxsecsValue(Protocol):
    """-maxsecs as the script wrote it, computed with as tcllib's `expr`
    computes (the Tcl command's form: strings compare as strings, 0x10 is
    16); `float()` raises when tcllib could not arm its timer with it."""

    def __lt__(self, other: int) -> bool: ...
    def __gt__(self, other: int) -> bool: ...
    def __eq__(self, other: object) -> bool: ...
    def __float__(self) -> float: ...


@dataclass(frozen=True)
class FinalWait:
    """How long tcllib waits for the reply to the final dot: `shown` in the
    -debug line, and `seconds`, or None when it does not read the reply."""

    shown: str
    seconds: float | None


@dataclass(frozen=True)
class TcllibRules:
    waits: Mapping[Event, int] = field(default_factory=lambda: MappingProxyType(dict(_WAITS)))
    # No wait is longer: tcllib's limit for one reply line; the bridge counts
    # it for the whole reply, so a server trickling "250-" lines cannot hold
    # a script past it.
    longest_wait: int = 600
    # -maxsecs: tcllib's default, and the longest wait for the final reply.
    maxsecs: int = 120
    longest_final_wait: int = 600
    # An abort (a refused step, a failed Bcc transaction) writes these
    # without waiting for replies, then closes at once.
    abort_commands: tuple[Event, ...] = (Event.RSET, Event.QUIT)
    # Once the connection failed (timeout, EOF, read error), every later
    # command gets a reply with this code and the first failure's text.
    lost_code: int = 400

    def wait(self, event: Event) -> int:
        return self.waits[event]

    def final_wait(self, maxsecs: float | MaxsecsValue) -> FinalWait:
        """tcllib's rule for -maxsecs: negative counts as 0, which means
        tcllib does not wait for the reply to the final dot; the wait is
        capped. A number from Python, or the Tcl command's option text
        (tclbridge.tcl.maxsecs), whose comparisons are Tcl's."""
        secs = 0 if maxsecs < 0 else maxsecs
        if secs == 0:
            return FinalWait(str(secs), None)
        longest = self.longest_final_wait
        return FinalWait(str(secs), float(longest if secs > longest else secs))

    def body_wait(self, final: FinalWait) -> float:
        """One window for writing the body and reading the final reply, as
        tcllib's -maxsecs timer; with -maxsecs 0 (no reply read) the body
        alone gets the DATA wait."""
        return final.seconds or self.waits[Event.DATA]


TCLLIB = TcllibRules()
