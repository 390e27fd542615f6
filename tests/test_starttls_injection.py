"""STARTTLS response injection (CVE-2011-0411): bytes that arrive after the
220 to STARTTLS and before the TLS handshake are never read as replies; the
connection is dropped with a clear error. The same for implicit TLS."""

from __future__ import annotations

import pytest

from tclbridge import Interp
from tclbridge.config import BridgeConfig
from tests.support.fault_server import PASSWORD, USERNAME, Fault, FaultServer
from tests.support.raw_servers import PlaintextBeforeTlsServer
from tests.support.tls_contexts import shared_ca


def send(cafile: str, port: int, options: str = "") -> tuple[int, str]:
    tcl = Interp(BridgeConfig(timeout_scale=0.01, cafiles=[cafile]))
    try:
        tcl.eval("package require smtp")
        tcl.eval("set tok [mime::initialize -canonical text/plain -string {board minutes}]")
        code = tcl.eval(
            f"catch {{smtp::sendmessage $tok -servers 127.0.0.1 -ports {port} "
            f"-username {USERNAME} -password {PASSWORD} -header {{From a@example.com}} "
            f"-header {{To b@example.com}} {options}}} res"
        )
        return int(code), tcl.eval("set res")
    finally:
        tcl.close()


@pytest.mark.parametrize("delay", [0.0, 0.3], ids=["same-segment", "during-handshake"])
def test_injected_replies_after_220_are_never_used(cafile: str, delay: float) -> None:
    # The real server refuses MAIL; the injected replies claim it was all
    # accepted, and advertise no AUTH. Read as the TLS side's replies, they
    # would make the script see success with nothing delivered.
    faults = [Fault("starttls", "inject", delay=delay), Fault("mail", "5xx")]
    with FaultServer(faults, tls=True, auth=True, ca=shared_ca()) as srv:
        code, result = send(cafile, srv.port)
    assert code == 1, result
    if delay == 0.0:
        # Buffered with the 220: refused before any handshake, by name.
        assert "before the TLS handshake" in result
        assert "STARTTLS response injection" in result
    # Arriving while the handshake runs, they are not TLS records: the
    # handshake fails (tcllib's text then: the greeting's). Either way
    # nothing was said after STARTTLS.
    conn = srv.connections[0]
    assert conn.commands[-1] == "STARTTLS"
    assert srv.transactions() == [] and not conn.authenticated


def test_genuine_starttls_still_works(cafile: str) -> None:
    with FaultServer(tls=True, auth=True, ca=shared_ca()) as srv:
        assert send(cafile, srv.port) == (0, "")
    conn = srv.connections[0]
    assert conn.tls and conn.authenticated and len(srv.answered_250()) == 1


def test_implicit_tls_ignores_plaintext_before_the_handshake(cafile: str) -> None:
    with PlaintextBeforeTlsServer(shared_ca()) as srv:
        code, result = send(cafile, srv.port, "-tlsimport 1")
    assert code == 1, result
    # Seen before the handshake (the usual case: they come with the
    # connection), or breaking it: either way the connection is gone and
    # nothing was sent inside TLS. (The CA is trusted: no certificate error.)
    assert ("127.0.0.1: the server sent data before the TLS handshake" in result
            or result.startswith("TLS handshake with 127.0.0.1 failed: ")), result
    assert srv.handshakes == 0 or srv.lines_after_tls == []
