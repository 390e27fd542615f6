"""tclbridge: tcllib's smtp and mime packages on a Python engine.

- `Interp`: a Tcl interpreter whose smtp and mime are the bridge's (its
  `eval` and `call` raise `TclError`, a tkinter.TclError with errorCode and
  errorInfo).
- `load_tcl(path)`: a legacy Tcl file's procs, callable from Python.
- `tclbridge.smtp.sendmessage`: the same mail engine as a Python function.

The names that need Tcl (tkinter) are imported when first used, so that
`tclbridge.smtp` and `tclbridge.mime` work where tkinter is missing.
"""

from __future__ import annotations

import importlib

# typing is for type checkers only: importing it costs every `tclbridge run`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Interp", "TclCallError", "TclError", "TclModule", "load_tcl"]
__version__ = "0.1.0"  # the one version string: pyproject.toml reads it

_LAZY = {
    "Interp": "tclbridge.interp",
    "TclCallError": "tclbridge.tcl_module",
    "TclError": "tclbridge.interp",
    "TclModule": "tclbridge.tcl_module",
    "load_tcl": "tclbridge.tcl_module",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'tclbridge' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
