"""What one run of a Tcl mail script showed, and a difference between two runs."""

from __future__ import annotations

from dataclasses import dataclass, field

ASPECTS = ("exit", "error", "stdout", "stderr", "commands", "envelope", "messages")
DEFAULT_ASPECTS = ("exit", "error", "stdout", "commands", "envelope", "messages")


@dataclass
class Delivered:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    data: bytes  # as on the wire: CRLF, dot-stuffed, without the final ".\r\n"


@dataclass
class ObservedRun:
    """Everything a run of a script showed: process output and server record."""

    exit: int | None  # None: killed after a timeout
    stdout: str
    stderr: str
    sessions: list[list[str]]  # client command lines, one list per connection
    messages: list[Delivered]
    substitutions: dict[str, str] = field(default_factory=dict)  # run value -> placeholder
    secrets: frozenset[str] = field(default=frozenset(), repr=False)  # passwords heard in AUTH
    # How each session was encrypted by its end: "starttls", "implicit" or None
    # (plain text). Empty when not known (an ObservedRun written by hand).
    session_tls: list[str | None] = field(default_factory=list)
    # The message of the uncaught error the run ended with (what errorInfo
    # starts with), when the runner reported one; None: no such error or not known.
    error: str | None = None


@dataclass(frozen=True)
class Difference:
    aspect: str  # one of ASPECTS
    where: str
    expected: str  # what tcllib did (shown as a Python literal)
    actual: str  # what the bridge did
    # The docs/COMPAT.md entries that explain it (tclbridge.differential.causes).
    causes: tuple[str, ...] = field(default=(), compare=False)
    # Both values in full (masked) where the two above are shortened for showing.
    texts: tuple[str, str] | None = field(default=None, compare=False, repr=False)

    @property
    def full(self) -> tuple[str, str]:
        """tcllib's and the bridge's value, not shortened."""
        return self.texts if self.texts is not None else (self.expected, self.actual)

    def describe(self, expected_label: str = "tcllib", actual_label: str = "bridge") -> str:
        return (f"{self.aspect}: {self.where}: {expected_label} gives {self.expected}, "
                f"{actual_label} gives {self.actual}")

    def __str__(self) -> str:
        return self.describe()
