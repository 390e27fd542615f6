"""tclbridge: tcllib's smtp and mime packages on a Python engine."""

from tclbridge.interp import Interp

__all__ = ["Interp"]
__version__ = "0.1.0"
