"""Bridge interpreters for tests that drive the Tcl commands in-process."""

from __future__ import annotations

from tclbridge import Interp
from tclbridge.config import BridgeConfig


def new_interp(timeout_scale: float = 0.01) -> Interp:
    """A bridge interpreter with smtp loaded and tcllib's waits scaled down."""
    bridge = Interp(BridgeConfig(timeout_scale=timeout_scale))
    bridge.eval("package require smtp")
    return bridge
