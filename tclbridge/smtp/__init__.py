"""tcllib's smtp package on a Python engine.

For Python code: `sendmessage` (tclbridge.smtp.api) and its exceptions
(tclbridge.smtp.exceptions). The modules below are the engine the Tcl
command `::smtp::sendmessage` uses too; it knows nothing of Tcl (its
results: tclbridge.smtp.results).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tclbridge.smtp.api import sendmessage
    from tclbridge.smtp.exceptions import (
        SMTPConnectError,
        SMTPDataRefusedError,
        SMTPError,
        SMTPRefusedError,
        SMTPSenderRefusedError,
        SMTPUsageError,
    )
    from tclbridge.smtp.results import RefusedRecipient

# Imported on first use: the API brings in the email package and the
# exceptions smtplib, which `tclbridge run` (whose start-up is measured
# against tclsh's) never needs.
_LAZY = {
    "RefusedRecipient": "tclbridge.smtp.results",
    "sendmessage": "tclbridge.smtp.api",
    "SMTPConnectError": "tclbridge.smtp.exceptions",
    "SMTPDataRefusedError": "tclbridge.smtp.exceptions",
    "SMTPError": "tclbridge.smtp.exceptions",
    "SMTPRefusedError": "tclbridge.smtp.exceptions",
    "SMTPSenderRefusedError": "tclbridge.smtp.exceptions",
    "SMTPUsageError": "tclbridge.smtp.exceptions",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RefusedRecipient",
    "SMTPConnectError",
    "SMTPDataRefusedError",
    "SMTPError",
    "SMTPRefusedError",
    "SMTPSenderRefusedError",
    "SMTPUsageError",
    "sendmessage",
]
