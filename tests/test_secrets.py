"""No secret in anything the process writes.

Real `tclbridge run` subprocesses (with Python logging switched on at DEBUG,
and `-debug 1` on every send) authenticate against servers on 127.0.0.1
that really check the credentials (tests/support/sasl_server.py), along every AUTH
path and the ways they fail: each mechanism succeeding, a wrong password
through every mechanism, a SCRAM server that cannot prove itself, an OAuth
token from TCLBRIDGE_OAUTH2_TOKEN_CMD accepted and refused, a server that
drops the connection in the middle of AUTH, a TLS certificate that cannot be
verified while credentials are set, and capture mode. Each script prints
its results with their return options (errorCode, errorInfo).

Everything is searched: stdout, stderr (the -debug transcript, log records,
Tcl errors), and every file the run left in its directory (capture files).
The searched forms of the password and the token: the text itself (UTF-8 and
Latin-1), its base64, and the part of a base64 payload that carries it at
any byte offset (so base64("\\0user\\0password"), the LOGIN answer and the
XOAUTH2/OAUTHBEARER payloads are all covered). A control checks that the
same search does find the payload a client sent to the server.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.replay_server import ReplayServer
from tests.support.sasl_server import ALL_MECHANISMS, PASSWORD, TOKEN, USERNAME, SaslServer

REPO = Path(__file__).resolve().parent.parent
PASSWORD_MECHANISMS = [m for m in ALL_MECHANISMS if m not in ("XOAUTH2", "OAUTHBEARER")]

# `tclbridge run`, with every log record of every logger written to stderr.
RUN_WITH_LOGGING = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
    "from tclbridge.cli import entry; entry()"
)

# Sends once per {name host port options} in argv; the credentials come from
# the environment so that they are not in the script or its arguments.
SCRIPT = r"""
package require smtp
foreach {name host port options} $argv {
    set tok [mime::initialize -canonical text/plain -string "secret plans"]
    set rc [catch {
        smtp::sendmessage $tok -servers $host -ports $port -debug 1 \
            -username $env(TEST_USER) -password $env(TEST_PASSWORD) \
            -header {To a@x.y} -header {From b@x.y} {*}$options
    } result opts]
    puts "== $name: rc=$rc result=$result"
    puts "options (-errorcode, -errorinfo): $opts"
    mime::finalize $tok
}
"""


def _base64_cores(secret: bytes) -> list[bytes]:
    """The base64 text that `secret` becomes inside any longer payload: for
    each of the three byte offsets, the groups made of its bytes only."""
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        start = 4 if offset else 0
        end = (offset + len(secret)) // 3 * 4
        core = encoded[start:end]
        assert len(core) >= 8, "secret too short for a specific search"
        cores.append(core)
    return cores


def secret_forms() -> dict[bytes, str]:
    forms: dict[bytes, str] = {}
    for label, secret in (("password", PASSWORD), ("token", TOKEN)):
        for encoding in ("utf-8", "latin-1"):
            raw = secret.encode(encoding)
            forms[raw] = f"{label} ({encoding})"
            forms[base64.b64encode(raw)] = f"base64 of the {label}"
            plain = b"\0" + USERNAME.encode() + b"\0" + raw
            forms[base64.b64encode(plain)] = f"base64 of \\0user\\0{label}"
            for core in _base64_cores(raw):
                forms[core] = f"the {label} inside a base64 payload"
    return forms


FORMS = secret_forms()


def leaks(data: bytes) -> list[str]:
    return sorted({label for form, label in FORMS.items() if form in data})


@dataclass
class Run:
    returncode: int
    stdout: bytes
    stderr: bytes
    files: dict[str, bytes]

    def everything(self) -> list[tuple[str, bytes]]:
        return [("stdout", self.stdout), ("stderr", self.stderr), *self.files.items()]

    def assert_no_secret(self) -> None:
        for where, data in self.everything():
            assert leaks(data) == [], f"secret in {where}"


def run_bridge(tmp_path: Path, sends: list[tuple[str, str, int, str]], *cli: str,
               env: dict[str, str] | None = None) -> Run:
    script = tmp_path / "send.tcl"
    script.write_text(SCRIPT)
    args = [str(x) for send in sends for x in send]
    done = subprocess.run(
        [sys.executable, "-c", RUN_WITH_LOGGING, "run", *cli, script.name, *args],
        cwd=tmp_path, capture_output=True, timeout=120,
        env={
            **os.environ, "PYTHONPATH": str(REPO), "LC_ALL": "C.UTF-8",
            "TEST_USER": USERNAME, "TEST_PASSWORD": PASSWORD,
            "TCLBRIDGE_TIMEOUT_SCALE": "0.02", **(env or {}),
        },
    )
    files = {
        str(p.relative_to(tmp_path)): p.read_bytes()
        for p in sorted(tmp_path.rglob("*")) if p.is_file() and p != script
    }
    return Run(done.returncode, done.stdout, done.stderr, files)


def results(run: Run) -> dict[str, str]:
    """name -> the "rc=... result=..." text the script printed."""
    found = {}
    for line in run.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("== "):
            name, _, rest = line[3:].partition(": ")
            found[name] = rest
    return found


@pytest.fixture
def servers() -> Iterator[list[SaslServer]]:
    started: list[SaslServer] = []
    yield started
    for server in started:
        server.__exit__(None, None, None)


def start(started: list[SaslServer], *args: object, **kwargs: object) -> SaslServer:
    server = SaslServer(*args, **kwargs)  # type: ignore[arg-type]
    server.__enter__()
    started.append(server)
    return server


def test_the_search_finds_what_a_client_sends() -> None:
    """The control: these forms are what goes on the wire."""
    plain = base64.b64encode(b"\0" + USERNAME.encode() + b"\0" + PASSWORD.encode())
    xoauth2 = base64.b64encode(f"user={USERNAME}\x01auth=Bearer {TOKEN}\x01\x01".encode())
    assert leaks(b"AUTH PLAIN " + plain) != []
    assert "the token inside a base64 payload" in leaks(xoauth2)
    assert leaks(b"334 " + base64.b64encode(b"Password:")) == []


def test_auth_paths_leave_no_secret(tmp_path: Path, servers: list[SaslServer]) -> None:
    sends: list[tuple[str, str, int, str]] = []
    expect: dict[str, list[tuple[str, bool]]] = {}
    by_name: dict[str, SaslServer] = {}

    def add(name: str, server: SaslServer, options: str = "", host: str = "127.0.0.1",
            attempts: list[tuple[str, bool]] | None = None) -> None:
        sends.append((name, host, server.port, options))
        by_name[name] = server
        expect[name] = attempts or []

    for mechanism in PASSWORD_MECHANISMS:
        add(mechanism, start(servers, [mechanism]), attempts=[(mechanism, True)])
    add("wrong-password", start(servers, PASSWORD_MECHANISMS, password="not the one"),
        attempts=[(m, False) for m in PASSWORD_MECHANISMS])
    add("scram-impostor", start(servers, ["SCRAM-SHA-256"], misbehave=["bad-server-signature"]),
        attempts=[("SCRAM-SHA-256", False)])  # the client saw through it and cancelled
    add("xoauth2", start(servers, ["XOAUTH2"]), attempts=[("XOAUTH2", True)])
    add("oauthbearer-refused", start(servers, ["OAUTHBEARER"], token="another-token-value"),
        attempts=[("OAUTHBEARER", False)])
    tls = start(servers, ["PLAIN"], tls="starttls")
    add("tls-unverified", tls, host="localhost")

    dropper = ReplayServer(silence=5)
    dropper.replies = [
        b"220 hi\r\n", b"250-hi\r\n250 AUTH LOGIN\r\n", b"334 VXNlcm5hbWU6\r\n",
        b"334 UGFzc3dvcmQ6\r\n",  # then the connection is closed after the answer
    ]
    sends.append(("dropped-mid-auth", "127.0.0.1", dropper.port, ""))
    try:
        run = run_bridge(
            tmp_path, sends, env={"TCLBRIDGE_OAUTH2_TOKEN_CMD": f"echo {TOKEN}"}
        )
    finally:
        dropper.close()

    # Every path ran as described.
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")[-2000:]
    outcome = results(run)
    assert sorted(outcome) == sorted(name for name, *_ in sends)
    for name, attempts in expect.items():
        assert by_name[name].attempts == attempts, name
    assert all(outcome[m] == "rc=0 result=" for m in PASSWORD_MECHANISMS)
    assert [m.mechanism for m in by_name["SCRAM-SHA-256"].messages] == ["SCRAM-SHA-256"]
    assert by_name["xoauth2"].succeeded == ["XOAUTH2"]
    assert outcome["tls-unverified"].startswith("rc=1 result=TLS certificate of localhost")
    assert tls.messages == []
    assert outcome["dropped-mid-auth"].startswith(("rc=1", "rc=7"))
    stderr = run.stderr.decode("utf-8", "replace")
    assert "--> <hidden> (wait upto" in stderr  # the -debug transcript is there
    assert "AUTH SCRAM-SHA-256 failed: " in stderr
    # The control: the client did send the password to the dropping server...
    assert any("password" in label for label in leaks(bytes(dropper.received[0])))
    # ...and nothing the process wrote holds any form of a secret.
    run.assert_no_secret()


def test_capture_mode_leaves_no_secret(tmp_path: Path) -> None:
    run = run_bridge(
        tmp_path, [("captured", "mail.example.com", 25, "")],
        "--capture", str(tmp_path / "captured"),
    )
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")[-2000:]
    assert results(run)["captured"] == "rc=0 result="
    captured = {name: data for name, data in run.files.items() if name.startswith("captured")}
    assert sorted(Path(n).suffix for n in captured) == [".eml", ".json"]
    assert any(b"<hidden>" in data for data in captured.values())
    run.assert_no_secret()
