"""Where trust comes from: the system store (SSL_CERT_FILE / SSL_CERT_DIR),
--cafile / TCLBRIDGE_CAFILE, and the opt-out --tls-no-verify /
TCLBRIDGE_TLS_VERIFY=0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge import Interp
from tclbridge.config import BridgeConfig

REPO = Path(__file__).resolve().parent.parent
SCRIPT = """package require smtp
set tok [mime::initialize -canonical text/plain -string hi]
puts [catch {smtp::sendmessage $tok -servers localhost -ports [lindex $argv 0] \\
    -header {To a@x.y}} res]
puts $res
"""


def sends(port: int, **config: object) -> bool:
    tcl = Interp(BridgeConfig.from_env(timeout_scale=0.05, **config))  # type: ignore[arg-type]
    tcl.eval("package require smtp")
    tcl.eval("set tok [mime::initialize -canonical text/plain -string hi]")
    return tcl.eval(
        f"catch {{smtp::sendmessage $tok -servers localhost -ports {port} -header {{To a@x.y}}}}"
    ) == "0"


def test_system_store_alone_does_not_trust_a_private_ca(trust_store_server) -> None:
    srv, _ = trust_store_server
    assert not sends(srv.port)


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR", "TCLBRIDGE_CAFILE"])
def test_environment_adds_trust(
    trust_store_server, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    srv, tmp = trust_store_server
    path = tmp / ("certs" if variable == "SSL_CERT_DIR" else "ca.pem")
    monkeypatch.setenv(variable, str(path))
    assert sends(srv.port)


@pytest.mark.parametrize("value", ["0", "no", "off", "false"])
def test_environment_turns_verification_off(
    trust_store_server, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    srv, _ = trust_store_server
    monkeypatch.setenv("TCLBRIDGE_TLS_VERIFY", value)
    assert sends(srv.port)
    monkeypatch.setenv("TCLBRIDGE_TLS_VERIFY", "1")
    assert not sends(srv.port)


@pytest.mark.parametrize("flags", [["--cafile", "CA"], ["--tls-no-verify"], []])
def test_cli_flags(trust_store_server, flags: list[str]) -> None:
    srv, tmp = trust_store_server
    script = tmp / "send.tcl"
    script.write_text(SCRIPT)
    args = [str(tmp / "ca.pem") if f == "CA" else f for f in flags]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSL_CERT", "TCLBRIDGE_"))}
    out = subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", *args, str(script), str(srv.port)],
        capture_output=True, text=True, timeout=60, env={**env, "PYTHONPATH": str(REPO)},
    )
    code, _, message = out.stdout.partition("\n")
    if flags:
        assert code == "0", out.stdout + out.stderr
        assert len(srv.messages) == 1
    else:
        assert code == "1"
        assert message.startswith("TLS certificate of localhost could not be verified")
