"""Sending through the bridge with addresses passed as Tcl values (never
spliced into a script), so any character reaches sendmessage unchanged."""

from __future__ import annotations

from tclbridge import Interp, site_policy
from tclbridge.config import BridgeConfig


def bridge(site: site_policy.SitePolicy | None = None) -> Interp:
    """A bridge interpreter with smtp loaded, tcllib's waits scaled down."""
    tcl = Interp(BridgeConfig(timeout_scale=0.05, policy=site))
    tcl.eval("package require smtp")
    return tcl


def send(
    tcl: Interp, port: int, recipients: list[str], *, sender: str = "me@example.com",
    atleastone: bool = True, extra: str = "",
) -> tuple[int, list[tuple[str, ...]]]:
    """sendmessage to 127.0.0.1:`port`; the return code and the result as a
    list of tuples (refused-recipient items, or the key/value words of a
    code-7 reply list as one tuple). `extra`: more options, as Tcl words."""
    tcl.call("set", "::to", ",".join(recipients))
    tcl.call("set", "::from", sender)
    tcl.eval("set tok [mime::initialize -canonical text/plain -string hello]")
    code = int(tcl.eval(
        f"catch {{smtp::sendmessage $tok -servers 127.0.0.1 -ports {port}"
        f" -atleastone {int(atleastone)} -originator $::from -recipients $::to {extra}}} res"))
    result = tcl.eval("set res")
    split = tcl.tk.splitlist
    if code == 7:
        return code, [tuple(split(result))]
    return code, [tuple(split(item)) for item in split(result)]
