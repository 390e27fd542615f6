"""tcllib's smtp package on a Python engine.

For Python code: `sendmessage` (tclbridge.smtp.api) and its exceptions
(tclbridge.smtp.exceptions). The modules below are the engine the Tcl
command `::smtp::sendmessage` uses too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tclbridge.smtp.exceptions import (
    SMTPConnectError,
    SMTPError,
    SMTPRefusedError,
    SMTPUsageError,
)

if TYPE_CHECKING:
    from tclbridge.smtp.api import RefusedRecipient, sendmessage


def __getattr__(name: str) -> Any:
    # The API module is imported on first use: it brings in the email
    # package, which `tclbridge run` (whose start-up is measured against
    # tclsh's) never needs.
    if name in ("RefusedRecipient", "sendmessage"):
        from tclbridge.smtp import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RefusedRecipient",
    "SMTPConnectError",
    "SMTPError",
    "SMTPRefusedError",
    "SMTPUsageError",
    "sendmessage",
]
