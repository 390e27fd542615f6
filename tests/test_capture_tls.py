"""Capture mode with TLS: the capture server offers STARTTLS, and implicit TLS
on a second port where the bridge sends -tlsimport connections, with a
certificate from a CA made at start that the bridge trusts; each capture's
sidecar says how the message came. And what a hostile or slow client can
do to those TLS doors."""

from __future__ import annotations

import base64
import json
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme

from tclbridge import recorder
from tclbridge.capture import Capture
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Capture-s3cret-Pw"

SEND = r"""
package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "hello\n"]
puts [smtp::sendmessage $tok -servers mail.example.com -ports @PORT@ \
    -originator ops@example.com -recipients team@example.com \
    -username bob -password @PASSWORD@ @OPTIONS@]
"""


def write_script(directory: Path, options: str = "", port: int = 25,
                 name: str = "send.tcl") -> Path:
    path = directory / name
    path.write_text(SEND.replace("@PORT@", str(port)).replace("@PASSWORD@", PASSWORD)
                    .replace("@OPTIONS@", options))
    return path


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tclbridge", "run", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**(os.environ if env is None else env), "PYTHONPATH": str(REPO)})


def sidecar(directory: Path, number: int = 1) -> dict:
    return json.loads(directory.joinpath(f"{number:04d}.json").read_text())


def assert_no_password(directory: Path, *outputs: str) -> None:
    forms = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
             base64.b64encode(f"\0bob\0{PASSWORD}".encode()).decode()]
    texts = [*outputs, *(p.read_text(errors="replace") for p in directory.iterdir())]
    for form in forms:
        assert not any(form in text for text in texts), form


@pytest.mark.parametrize(("options", "port", "mode", "first"), [
    ("-tlsimport 1", 465, "implicit", ["EHLO", "AUTH"]),
    ("", 587, "starttls", ["EHLO", "STARTTLS", "EHLO", "AUTH"]),
], ids=["tlsimport", "starttls"])
def test_tls_script_is_captured_and_the_sidecar_says_so(
        tmp_path: Path, options: str, port: int, mode: str, first: list[str]) -> None:
    out = tmp_path / "out"
    done = run("--capture", str(out), str(write_script(tmp_path, options, port)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "\n"  # nobody refused
    record = sidecar(out)
    assert record["tls"]["mode"] == mode
    assert record["tls"]["version"] in ("TLSv1.2", "TLSv1.3") and record["tls"]["cipher"]
    assert [c.split()[0] for c in record["commands"][:len(first)]] == first
    assert "<hidden>" in " ".join(record["commands"])  # AUTH's payload, never the password
    assert record["rcpt_tos"] == ["team@example.com"]
    assert b"hello" in out.joinpath("0001.eml").read_bytes()
    assert_no_password(out, done.stdout, done.stderr)


def test_plain_text_session_is_recorded_as_such(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run("--capture", str(out), str(write_script(tmp_path, "-usetls 0")), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = sidecar(out)
    assert record["tls"] is None
    assert "STARTTLS" not in record["commands"]
    assert re.search(r"^250[- ]STARTTLS$", record["replies"][1], re.MULTILINE)  # offered


@pytest.mark.parametrize("options", ["", "-usetls 0"], ids=["default", "usetls-0"])
def test_site_policy_tls_required_is_met_by_the_capture(tmp_path: Path, options: str) -> None:
    """The capture previews a site whose policy requires verified TLS: the
    bridge verifies the capture's certificate, also where the script says
    -usetls 0 (the policy wins)."""
    site = tmp_path / "policy.toml"
    site.write_text("[tls]\nrequired = true\n")
    out = tmp_path / "out"
    done = run("--capture", str(out), "--policy", str(site),
               str(write_script(tmp_path, options)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = sidecar(out)
    assert record["tls"]["mode"] == "starttls"
    decisions = [entry["decision"] for entry in record["policy"] if entry["rule"] == "tls"]
    assert "session with 127.0.0.1 is TLS, certificate verified" in decisions
    assert ("STARTTLS with 127.0.0.1 although the script says -usetls 0" in decisions) == \
        (options == "-usetls 0")
    assert_no_password(out, done.stdout, done.stderr)


# A script that runs a child `tclbridge run` of another script, which sends with
# -tlsimport 1: the child inherits the capture's implicit-TLS listener and CA.
PARENT = r"""
puts [exec @PYTHON@ -m tclbridge run child.tcl]
"""


def test_child_run_sends_tlsimport_to_the_parents_capture(tmp_path: Path) -> None:
    write_script(tmp_path, "-tlsimport 1", 465, name="child.tcl")
    (tmp_path / "parent.tcl").write_text(PARENT.replace("@PYTHON@", sys.executable))
    out = tmp_path / "out"
    done = run("--capture", str(out), "parent.tcl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sidecar(out)["tls"]["mode"] == "implicit"
    assert sorted(p.name for p in out.iterdir()) == ["0001.eml", "0001.json"]


# What the bridge trusts and which TLS modules it loaded, asked from Python.
PROBE = """
import sys

from tclbridge.config import process_config


def trusted():
    return process_config().cafiles


def loaded():
    return sorted(m for m in ("trustme", "cryptography") if m in sys.modules)
"""

PROBE_SCRIPT = r"""
puts "trusted: [tclbridge::call probe.trusted]"
puts "loaded: [tclbridge::call probe.loaded]"
if {$argv eq "child"} { exit }
puts [exec @PYTHON@ -m tclbridge run probe.tcl child]
"""


def test_the_users_ca_is_kept_beside_the_captures(tmp_path: Path) -> None:
    user_ca = tmp_path / "user-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(user_ca))
    (tmp_path / "probe.py").write_text(PROBE)
    (tmp_path / "probe.tcl").write_text(PROBE_SCRIPT.replace("@PYTHON@", sys.executable))
    env = {**os.environ, "TCLBRIDGE_CAFILE": str(user_ca)}
    done = run("--capture", str(tmp_path / "out"), "probe.tcl", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    parent, child = done.stdout.split("trusted: ")[1:]
    for output in (parent, child):  # the parent's, then its child run's
        user, capture = output.splitlines()[0].split()
        assert user == str(user_ca)
        assert Path(capture).name == "tclbridge-ca.pem"
    # A run without capture never loads the CA's libraries (start-up time).
    done = run("probe.tcl", "child", cwd=tmp_path, env=env)
    assert done.stdout.splitlines() == [f"trusted: {user_ca}", "loaded: "]


# -- hostile and slow clients ---------------------------------------------------------

def trusting(c: Capture) -> ssl.SSLContext:
    assert c.endpoint is not None and c.endpoint.cafile is not None
    return ssl.create_default_context(cafile=c.endpoint.cafile)


def deliver_over_implicit_tls(c: Capture) -> float:
    """Send one message through the implicit-TLS door; how long it took."""
    assert c.endpoint is not None and c.endpoint.implicit_tls is not None
    started = time.monotonic()
    with smtplib.SMTP_SSL(*c.endpoint.implicit_tls, local_hostname="c", timeout=5,
                          context=trusting(c)) as client:
        client.sendmail("a@x", ["b@y"], b"Subject: through\r\n\r\nok\r\n")
    return time.monotonic() - started


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True


def starttls_then_stall(c: Capture) -> socket.socket:
    """A client that asks for STARTTLS, gets its 220, then sends half a ClientHello."""
    sock = socket.create_connection(c.endpoint.server if c.endpoint else ("", 0), timeout=5)
    reader = sock.makefile("rb")
    reader.readline()  # the greeting
    sock.sendall(b"EHLO c\r\n")
    while reader.readline()[3:4] == b"-":
        pass
    sock.sendall(b"STARTTLS\r\n")
    assert reader.readline().startswith(b"220")
    sock.sendall(b"\x16\x03\x01\x02\x00\x01")  # a record header and a byte of a ClientHello
    return sock


def test_stalled_handshakes_neither_block_others_nor_stay(bounded_handshake_cap: Capture) -> None:
    cap = bounded_handshake_cap
    assert cap.endpoint is not None and cap.endpoint.implicit_tls is not None
    implicit = socket.create_connection(cap.endpoint.implicit_tls, timeout=5)
    implicit.sendall(b"\x16\x03\x01")  # the start of a handshake, then nothing
    upgrade = starttls_then_stall(cap)
    # Others are served meanwhile, at once.
    assert deliver_over_implicit_tls(cap) < 3
    send_plain(cap)
    assert sorted(p.name for p in cap.directory.iterdir()) == [
        "0001.eml", "0001.json", "0002.eml", "0002.json"]
    # The stalled ones are dropped once the bound has passed.
    started = time.monotonic()
    assert closed_by_server(implicit, 5) and closed_by_server(upgrade, 5)
    assert time.monotonic() - started < 4
    assert cap._server is not None
    assert wait_until(lambda: cap._server.open_connections == 0)
    implicit.close()
    upgrade.close()


def send_plain(c: Capture) -> None:
    assert c.endpoint is not None
    with smtplib.SMTP(*c.endpoint.server, local_hostname="c", timeout=5) as client:
        client.sendmail("a@x", ["b@y"], b"Subject: plain\r\n\r\nok\r\n")


def test_stop_returns_while_handshakes_stall(tmp_path: Path) -> None:
    c = Capture(tmp_path / "out")  # the real bound (seconds): stop() must not wait for it
    c.start()
    assert c.endpoint is not None and c.endpoint.implicit_tls is not None
    stalled = [socket.create_connection(c.endpoint.implicit_tls, timeout=5),
               starttls_then_stall(c)]
    stalled[0].sendall(b"\x16\x03\x01")
    started = time.monotonic()
    c.stop()
    assert time.monotonic() - started < recorder.STOP_TIMEOUT + 1
    for sock in stalled:
        sock.close()


def test_plain_text_on_the_implicit_tls_port_is_dropped(bounded_handshake_cap: Capture) -> None:
    cap = bounded_handshake_cap
    assert cap.endpoint is not None and cap.endpoint.implicit_tls is not None
    sock = socket.create_connection(cap.endpoint.implicit_tls, timeout=5)
    sock.sendall(b"EHLO c\r\nMAIL FROM:<a@x>\r\n")
    assert closed_by_server(sock, 5)
    sock.close()
    assert cap._server is not None
    assert cap._server.sessions == []  # not an SMTP session: nothing recorded
    assert deliver_over_implicit_tls(cap) < 3  # and the door still works
    assert sidecar(cap.directory)["tls"]["mode"] == "implicit"


def test_the_server_key_is_written_only_in_the_private_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CA's server key never goes to $TMPDIR, which the script shares: with
    no usable temporary directory the CA is still made, and nothing but the CA
    certificate is left in its own directory."""
    import tempfile

    from tclbridge import throwaway_ca

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-tmpdir"))
    private = tmp_path / "ca"
    private.mkdir(mode=0o700)
    ca = throwaway_ca.make(private)
    assert sorted(p.name for p in private.iterdir()) == [throwaway_ca.CA_FILE_NAME]
    client = ssl.create_default_context(cafile=str(ca.cafile))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()) as raw:
            accepted, _ = listener.accept()
            with accepted:
                server = ca.server_context.wrap_socket(accepted, server_side=True,
                                                       do_handshake_on_connect=False)
                tls = client.wrap_socket(raw, server_hostname="localhost",
                                         do_handshake_on_connect=False)
                tls.setblocking(False)
                server.setblocking(False)
                deadline = time.monotonic() + 10
                done = {"client": False, "server": False}
                while not all(done.values()):
                    assert time.monotonic() < deadline, "handshake did not finish"
                    for name, side in (("client", tls), ("server", server)):
                        if not done[name]:
                            try:
                                side.do_handshake()
                                done[name] = True
                            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                                pass
                assert tls.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
