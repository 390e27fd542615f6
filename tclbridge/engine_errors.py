"""The errors the engines raise, in their own terms: no Tcl here.

The engines (tclbridge.smtp, tclbridge.mime) raise these with tcllib's
exact text as data and a `kind` saying what went wrong. Only
`tclbridge.tcl.boundary` knows the Tcl error and errorCode each kind
becomes; `tclbridge.smtp.api` the Python exception. (The Tcl layer's own
errors, already in Tcl's terms, are `tclbridge.errors`.)
"""

from __future__ import annotations

import enum


class EngineError(Exception):
    """An error of the engine: `text` is what tcllib says (or the bridge,
    where it refuses more than tcllib does)."""

    kind: enum.Enum

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


# -- smtp -------------------------------------------------------------------------


class UsageKind(enum.Enum):
    """What is wrong with a call."""

    # tcllib's own option, address and header errors, and the bridge's
    # refusals of the same sort (header injection).
    INVALID = "invalid"
    # A lone surrogate where it would go into an SMTP command (COMPAT
    # lone-surrogate): no character a server could read.
    NOT_A_CHARACTER = "not-a-character"


class UsageError(EngineError):
    """The call itself is wrong (a bad option, address or header)."""

    kind: UsageKind

    def __init__(self, text: str, kind: UsageKind = UsageKind.INVALID) -> None:
        super().__init__(text)
        self.kind = kind


# -- mime -------------------------------------------------------------------------


class MimeKind(enum.Enum):
    """What the mime engine ran into (each is a different Tcl error in tcllib)."""

    # tcllib's own `error`: a bad option, header or value, a message it
    # cannot parse; and the bridge's refusals of the same sort.
    INVALID = "invalid"
    # base64 text that Tcl's strict decoder refuses.
    BAD_BASE64 = "bad-base64"
    # A part that is gone (finalized): tcllib reads a state variable that
    # no longer exists.
    GONE_PART = "gone-part"
    # A parsed message nested deeper than the bridge parses (COMPAT parse-depth).
    TOO_DEEP = "too-deep"
    # A file that cannot be opened or read: a `MimeFileError`.
    FILE = "file"


class MimeError(EngineError):
    """An error of the mime engine."""

    kind: MimeKind

    def __init__(self, text: str, kind: MimeKind = MimeKind.INVALID) -> None:
        super().__init__(text)
        self.kind = kind


class MimeFileError(MimeError):
    """A file that cannot be used: the OS's `errno`, and `reason`, the
    words tcllib's message ends with."""

    def __init__(self, text: str, errno: int, reason: str) -> None:
        super().__init__(text, MimeKind.FILE)
        self.errno = errno
        self.reason = reason


__all__ = ["EngineError", "MimeError", "MimeFileError", "MimeKind", "UsageError", "UsageKind"]
