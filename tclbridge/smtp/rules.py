"""tcllib's rules for one send, in one object the session reads.

Scripts see these: a script whose -maxsecs is odd sees what tcllib's rule
gives.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FinalWait:
    """How long tcllib waits for the reply to the final dot: `shown` in the
    -debug line, and `seconds`, or None when it does not read the reply."""

    shown: str
    seconds: float | None


@dataclass(frozen=True)
class TcllibRules:
    # -maxsecs: tcllib's default, and the longest wait for the final reply.
    maxsecs: int = 120
    longest_final_wait: int = 600

    def final_wait(self, maxsecs: float) -> FinalWait:
        """-maxsecs as a number: negative counts as 0, which means tcllib
        does not wait for the reply to the final dot; the wait is capped.
        (The Tcl command evaluates the option's text with Tcl's own `expr`
        rules instead: tcl_shims/smtp.tcl.)"""
        secs = max(maxsecs, 0)
        if secs == 0:
            return FinalWait(str(secs), None)
        return FinalWait(str(secs), float(min(secs, self.longest_final_wait)))


TCLLIB = TcllibRules()
