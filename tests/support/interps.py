"""Bridge interpreters for tests that drive the Tcl commands in-process."""

from __future__ import annotations

from tclbridge import Interp
from tclbridge.config import BridgeConfig

# `__fuzz_probe cmd ...` runs a command; returns {code result errorcode} whatever happens.
PROBE = r"""
proc __fuzz_probe {args} {
    set code [catch {uplevel #0 $args} result opts]
    set ec [expr {[dict exists $opts -errorcode] ? [dict get $opts -errorcode] : ""}]
    list $code $result $ec
}
"""


def new_interp(timeout_scale: float = 0.01) -> Interp:
    """A bridge interpreter with smtp loaded and tcllib's waits scaled down."""
    bridge = Interp(BridgeConfig(timeout_scale=timeout_scale))
    bridge.eval("package require smtp")
    return bridge
