"""tcllib's smtp package on a Python engine.

For Python code: `sendmessage` (tclbridge.smtp.api) and its exceptions
(tclbridge.smtp.exceptions). The modules below are the engine the Tcl
command `::smtp::sendmessage` uses too.
"""

from tclbridge.smtp.api import RefusedRecipient, sendmessage
from tclbridge.smtp.exceptions import (
    SMTPConnectError,
    SMTPError,
    SMTPRefusedError,
    SMTPUsageError,
)

__all__ = [
    "RefusedRecipient",
    "SMTPConnectError",
    "SMTPError",
    "SMTPRefusedError",
    "SMTPUsageError",
    "sendmessage",
]
