"""The suite's fixtures. Helpers that tests import live in tests/support/."""

from __future__ import annotations

import gc
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tclbridge import Interp, recorder
from tclbridge.capture import Capture
from tclbridge.display import find_xvfb, xvfb_display
from tclbridge.recorder import RecordingServer
from tests.support.interps import PROBE, new_interp
from tests.support.mime_fuzz import WALK
from tests.support.postfix_harness import REQUIRE_ENV, PostfixRelay, PostfixUnavailable
from tests.support.sasl_server import SaslServer
from tests.support.tls_contexts import shared_ca

# No config file (~/.config/tclbridge/config.toml, /etc/tclbridge/config.toml)
# of the machine may change a result: every run of the suite, and every
# process it starts, reads none. Tests of the files set their own.
os.environ["TCLBRIDGE_CONFIG"] = ""

# -- bridge interpreters ----------------------------------------------------------


@pytest.fixture
def tcl() -> Iterator[Interp]:
    bridge = new_interp()
    yield bridge
    bridge.close()


@pytest.fixture
def script_tcl() -> Iterator[Interp]:
    """A bridge as a script gets it: the process's config, no package required;
    collected in this thread when done (a Tcl interpreter is freed in its own)."""
    bridge = Interp()
    yield bridge
    bridge.close()
    del bridge
    gc.collect()


@pytest.fixture(scope="module")
def mime_tcl() -> Iterator[Interp]:
    """A bridge with mime loaded and `readbin name` (a file's bytes), for a module."""
    with Interp() as bridge:
        bridge.eval("package require mime")
        bridge.eval(
            "proc readbin {name} {set f [open $name rb]; set d [read $f]; close $f; return $d}"
        )
        yield bridge


@pytest.fixture(scope="module")
def walk_tcl() -> Iterator[Interp]:
    """A bridge with mime loaded and tests/support/mime_fuzz's `__parse`, for a module."""
    bridge = Interp()
    bridge.eval("package require mime")
    bridge.eval(WALK)
    yield bridge
    bridge.close()


@pytest.fixture(scope="module")
def probe_tcl() -> Iterator[Interp]:
    """A bridge with smtp and mime loaded, tcllib's waits scaled by 0.001,
    `__fuzz_probe cmd...` (tests/support/interps.PROBE) and mime_fuzz's `__parse`."""
    bridge = new_interp(timeout_scale=0.001)
    bridge.eval("package require mime")
    bridge.eval(PROBE)
    bridge.eval(WALK)
    yield bridge
    bridge.close()


# -- servers ------------------------------------------------------------------------

@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as srv:
        yield srv


@pytest.fixture(scope="module", params=[None, "starttls", "implicit"],
                ids=["plain", "starttls", "implicit"])
def sasl_server(request: pytest.FixtureRequest) -> Iterator[SaslServer]:
    """A SaslServer with every mechanism, for a module, once per TLS mode."""
    with SaslServer(tls=request.param) as srv:
        yield srv


@pytest.fixture
def starttls_server() -> Iterator[SaslServer]:
    """A SaslServer offering PLAIN and STARTTLS (its own CA: srv.ca)."""
    with SaslServer(["PLAIN"], tls="starttls") as srv:
        yield srv


@pytest.fixture
def trust_store_server(
    starttls_server: SaslServer, tmp_path: Path
) -> tuple[SaslServer, Path]:
    """starttls_server, and tmp_path holding its CA as ca.pem and as an OpenSSL
    hashed directory, certs/<subject hash>.0."""
    assert starttls_server.ca is not None
    cafile = tmp_path / "ca.pem"
    starttls_server.ca.cert_pem.write_to_path(str(cafile))
    certdir = tmp_path / "certs"
    certdir.mkdir()
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(cafile)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    (certdir / f"{subject_hash}.0").write_bytes(cafile.read_bytes())
    return starttls_server, tmp_path


@pytest.fixture(scope="session")
def cafile(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PEM file of tests/support/tls_contexts.shared_ca(), the CA to give
    servers whose clients are told to trust this file."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    shared_ca().cert_pem.write_to_path(str(path))
    return str(path)


# -- capture --------------------------------------------------------------------------

@pytest.fixture
def cap(tmp_path: Path) -> Iterator[Capture]:
    """A capture server writing to tmp_path/out (started by the test)."""
    c = Capture(tmp_path / "out")
    yield c
    c.stop()


HANDSHAKE_BOUND = 0.5  # seconds: recorder.TLS_HANDSHAKE_TIMEOUT in bounded_handshake_cap


@pytest.fixture
def bounded_handshake_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Capture]:
    """A started capture server writing to tmp_path/out whose TLS handshakes
    must finish within HANDSHAKE_BOUND seconds."""
    monkeypatch.setattr(recorder, "TLS_HANDSHAKE_TIMEOUT", HANDSHAKE_BOUND)
    c = Capture(tmp_path / "out")
    c.start()
    yield c
    c.stop()


@pytest.fixture
def display() -> Iterator[str]:
    """A real X server (Xvfb), reachable as a desktop's is: by its abstract
    socket from this network namespace and by its /tmp/.X11-unix socket file
    from any."""
    xvfb = find_xvfb()
    assert xvfb, "Xvfb must be installed (scripts/bootstrap.sh does it)"
    with xvfb_display(xvfb, namespace_only=False) as name:
        yield name


@pytest.fixture(scope="session")
def postfix_relay() -> Iterator[PostfixRelay]:
    """A running PostfixRelay for the whole session (skips if Postfix cannot be had)."""
    relay = PostfixRelay()
    try:
        relay.start()
    except PostfixUnavailable as error:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"Postfix unavailable and {REQUIRE_ENV}=1: {error}")
        pytest.skip(f"no Postfix for interop tests: {error}")
    try:
        yield relay
    finally:
        relay.stop()
