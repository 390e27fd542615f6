"""Where `run --server` (and an inherited capture server) sends a -tlsimport
connection: to the server's implicit-TLS listener, when it has one apart."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tclbridge import throwaway_ca
from tclbridge.recorder import RecordingServer, ServerScript

REPO = Path(__file__).resolve().parent.parent

SEND = r"""
package require smtp
set tok [mime::initialize -canonical text/plain -string "hello\n"]
foreach import {0 1} {
    smtp::sendmessage $tok -servers mail.example.invalid -tlsimport $import \
        -originator a@example.com -recipients b@example.com
}
puts sent
"""


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tclbridge", "run", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})


@pytest.fixture
def two_doors() -> Iterator[tuple[RecordingServer, str]]:
    """A server with STARTTLS on its port and implicit TLS on a second; its CA file."""
    with tempfile.TemporaryDirectory() as certs:
        ca = throwaway_ca.make(Path(certs))
        with RecordingServer(ServerScript(capabilities=["STARTTLS"]),
                             tls_context=ca.server_context, implicit_tls_listener=True) as srv:
            yield srv, str(ca.cafile)


def test_tlsimport_goes_to_the_implicit_tls_server(tmp_path: Path, two_doors) -> None:
    server, cafile = two_doors
    (tmp_path / "send.tcl").write_text(SEND)
    done = run("--server", f"127.0.0.1:{server.port}",
               "--implicit-tls-server", f"127.0.0.1:{server.implicit_tls_port}",
               "--cafile", cafile, "send.tcl", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "sent\n"), done.stderr
    assert [s.tls and s.tls.mode for s in server.sessions] == ["starttls", "implicit"]
    assert len(server.messages) == 2


def test_implicit_tls_server_needs_server(tmp_path: Path) -> None:
    done = run("--implicit-tls-server", "127.0.0.1:465", "send.tcl", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.endswith(
        "error: --implicit-tls-server needs --server (or TCLBRIDGE_SERVER)\n")


@pytest.mark.parametrize("value", ["192.0.2.1:465", "mail.example.com:465"])
def test_an_inherited_implicit_tls_server_must_be_on_loopback(tmp_path: Path, value: str) -> None:
    (tmp_path / "hi.tcl").write_text("puts hi\n")
    done = run("hi.tcl", cwd=tmp_path, TCLBRIDGE_CAPTURE_SERVER="127.0.0.1:25",
               TCLBRIDGE_CAPTURE_TLS_SERVER=value)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"tclbridge: TCLBRIDGE_CAPTURE_TLS_SERVER={value}: ")
    assert done.stderr.count("\n") == 1
