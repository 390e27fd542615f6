"""The Python commands behind each of the bridge's Tcl packages, by name only.

An interpreter defines these names as stand-ins that load their command
module on first call (`tcl_shims/bridge.tcl`, `::tclbridge::deferred`), so
that `package require smtp` and `package require mime` import nothing of
the engines: start-up is what a cron job pays for every message.
"""

from __future__ import annotations

MIME_PREFIX = "::tclbridge::py::mime::"

# mime's public commands; tcl_shims/mime.tcl defines ::mime::NAME for each.
MIME_COMMANDS = (
    "initialize", "finalize", "getproperty", "getheader", "setheader", "getbody",
    "copymessage", "buildmessage", "parseaddress", "parsedatetime", "uniqueID",
    "qp_encode", "qp_decode", "word_encode", "word_decode", "field_decode",
    "mapencoding", "reversemapencoding", "encoding", "getsize",
)

SMTP_START = "::tclbridge::py::smtp::start"
SMTP_FINISH = "::tclbridge::py::smtp::finish"

# `tclbridge::call`'s Python side.
PYTHON_CALL = "::tclbridge::py::call"

# Each set's Python command names, loaded together.
COMMAND_SETS: dict[str, tuple[str, ...]] = {
    "mime": tuple(MIME_PREFIX + name for name in MIME_COMMANDS),
    "smtp": (SMTP_START, SMTP_FINISH),
    "python": (PYTHON_CALL,),
}
