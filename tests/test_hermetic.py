"""`run --capture` and `check` are hermetic: whatever path a script takes, its
mail reaches the capture server or fails; it never reaches another server.

The real thing is used: a private network namespace (tclbridge.sandbox), real
tclsh + tcllib children, a real recording server on the host's 127.0.0.1
that must receive nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge.recorder import RecordingServer
from tests.support.hermetic import (
    ESCAPES,
    NAMESPACE_EPHEMERAL_PORTS,
    TCLLIB_SMTP,
    bridge_env,
    numbered,
    outside_server,
    tclbridge,
    write_deliberate_escape,
    write_escape,
    write_service_escape,
)
from tests.support.loopback import unlistened_port

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("tclsh") is None or TCLLIB_SMTP is None,
    reason="needs Linux namespaces, tclsh and tcllib")

# What a script prints when its connection to 127.0.0.1:PORT finds nobody
# there (tcllib's async socket reports it at the first read).
FAILED_TO_CONNECT = re.compile(r"^failed: .*(connection refused|socket is not connected)",
                               re.IGNORECASE | re.MULTILINE)

BRIDGE_CHILD = r"""
package require smtp
set tok [mime::initialize -canonical text/plain -string "child of the bridge\n"]
smtp::sendmessage $tok -servers [lindex $argv 0] -ports [lindex $argv 1] \
    -header {To c@example.com} -header [list Subject "from the child"]
puts "child sent"
"""

EXEC_BRIDGE = f"""
puts [exec {sys.executable} -m tclbridge run bridge_child.tcl 127.0.0.1 [lindex $argv 0]]
"""

# The only outside address this touches is one the sandbox cannot route; it
# tries that only when the host's loopback is out of reach (else: "not isolated").
OUTSIDE = r"""
if {![catch {close [socket 127.0.0.1 [lindex $argv 0]]}]} { puts "not isolated"; exit 1 }
puts [catch {socket 192.0.2.1 25} err]:$err
puts [catch {socket 10.1.2.3 587} err]:$err
"""


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_run_capture_lets_no_mail_out(tmp_path: Path, escape: str) -> None:
    script = write_escape(tmp_path, escape)
    with outside_server() as outside:
        done = tclbridge("run", "--capture", "cap", script.name, str(outside.port), cwd=tmp_path)
    assert outside.sessions == [], done.stdout
    assert done.returncode == 0, done.stderr
    # The script tried, and its connection failed inside the sandbox.
    assert FAILED_TO_CONNECT.search(done.stdout), done.stdout
    assert numbered(tmp_path / "cap") == []


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_check_lets_no_mail_out(tmp_path: Path, escape: str) -> None:
    script = write_escape(tmp_path, escape)
    with outside_server() as outside:
        done = tclbridge("check", "--json", script.name, str(outside.port), cwd=tmp_path)
    assert outside.sessions == [], done.stdout
    result = json.loads(done.stdout)
    assert result["timed_out"] == [], done.stdout


def test_no_sandbox_server_can_share_the_outside_servers_port(tmp_path: Path) -> None:
    """The premise of outside_server(): a server the sandbox starts binds port
    0 and gets a port of the new namespace's ephemeral range, which the
    outside server's port is below. (With the host's bind(0) port, a probe
    now and then reached the check's own server of the same number.)"""
    (tmp_path / "ports.tcl").write_text(
        "for {set i 0} {$i < 20} {incr i} {\n"
        "    set s [socket -server {apply {args {}}} -myaddr 127.0.0.1 0]\n"
        "    puts [lindex [fconfigure $s -sockname] 2]\n"
        "}\n")
    with outside_server() as outside:
        done = tclbridge("run", "--capture", "cap", "ports.tcl", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        ports = [int(line) for line in done.stdout.split()]
        assert len(ports) == 20
        assert all(port in NAMESPACE_EPHEMERAL_PORTS for port in ports), ports
        assert outside.port < NAMESPACE_EPHEMERAL_PORTS.start


def test_outside_addresses_are_unreachable(tmp_path: Path) -> None:
    (tmp_path / "out.tcl").write_text(OUTSIDE)
    with outside_server() as host_loopback:
        done = tclbridge("run", "--capture", "cap", "out.tcl", str(host_loopback.port),
                         cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ("1:couldn't open socket: network is unreachable\n" * 2)
    # Isolated: no warning, only the summary.
    assert done.stderr == f"tclbridge: nothing captured in {tmp_path / 'cap'}\n"


def test_a_child_bridge_run_is_captured_by_the_parent(tmp_path: Path) -> None:
    (tmp_path / "bridge_child.tcl").write_text(BRIDGE_CHILD)
    (tmp_path / "parent.tcl").write_text(EXEC_BRIDGE + r"""
package require smtp
set tok [mime::initialize -canonical text/plain -string "parent\n"]
smtp::sendmessage $tok -servers 192.0.2.1 -header {To p@example.com} -header {Subject parent}
""")
    with outside_server() as outside:
        done = tclbridge("run", "--capture", "cap", "parent.tcl", str(outside.port), cwd=tmp_path)
    assert outside.sessions == []
    assert done.returncode == 0, done.stderr
    assert done.stdout == "child sent\n"
    # One server, one numbering; the parent prints both lines.
    assert numbered(tmp_path / "cap") == ["0001.eml", "0001.json", "0002.eml", "0002.json"]
    first = json.loads((tmp_path / "cap/0001.json").read_text())
    assert first["rcpt_tos"] == ["c@example.com"]
    assert [line.split(":")[0] for line in done.stderr.splitlines()
            if line.startswith("captured ")] == ["captured 0001.eml", "captured 0002.eml"]


def test_tclbridge_capture_in_the_environment_alone(tmp_path: Path) -> None:
    (tmp_path / "bridge_child.tcl").write_text(BRIDGE_CHILD)
    with outside_server() as outside:
        done = tclbridge("run", "bridge_child.tcl", "127.0.0.1", str(outside.port), cwd=tmp_path,
                         env=bridge_env(TCLBRIDGE_CAPTURE=str(tmp_path / "envcap")))
    assert outside.sessions == []
    assert done.returncode == 0, done.stderr
    assert numbered(tmp_path / "envcap") == ["0001.eml", "0001.json"]
    assert "captured 0001.eml" in done.stderr


SENDMAIL = r"""
set f [open "|sendmail -t" w]
puts $f "From: app@example.com\nTo: to@example.com\nCc: cc@example.com"
puts $f "Bcc: hidden@example.com\nSubject: piped\n\nfirst\n.\nnot sent"
close $f
exec sendmail -f ops@example.com -oi args@example.com << "Subject: exec\n\n.\nkept\n"
set f [open "|/usr/sbin/sendmail -t -i" w]
puts $f "To: sbin@example.com\nSubject: full path\n\nbody"
close $f
puts done
"""


def test_sendmail_mail_is_captured(tmp_path: Path) -> None:
    (tmp_path / "sm.tcl").write_text(SENDMAIL)
    done = tclbridge("run", "--capture", "cap", "sm.tcl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    cap = tmp_path / "cap"
    records = [json.loads((cap / f"000{n}.json").read_text()) for n in (1, 2, 3)]
    assert [r["rcpt_tos"] for r in records] == [
        ["to@example.com", "cc@example.com", "hidden@example.com"], ["args@example.com"],
        ["sbin@example.com"]]
    assert records[1]["mail_from"] == "ops@example.com"  # -f
    piped = (cap / "0001.eml").read_bytes()
    assert piped == (b"From: app@example.com\r\nTo: to@example.com\r\nCc: cc@example.com\r\n"
                     b"Subject: piped\r\n\r\nfirst\r\n")  # Bcc removed, cut at the lone dot
    assert (cap / "0002.eml").read_bytes() == b"Subject: exec\r\n\r\n.\r\nkept\r\n"  # -oi
    assert (cap / "0003.eml").read_bytes().endswith(b"\r\n\r\nbody\r\n")
    # The host's sendmail is untouched by the bind mount.
    assert b"tclbridge" not in Path("/usr/sbin/sendmail").read_bytes()[:200]


def test_check_counts_the_mail_of_children(tmp_path: Path) -> None:
    (tmp_path / "bridge_child.tcl").write_text(BRIDGE_CHILD)
    (tmp_path / "kids.tcl").write_text(EXEC_BRIDGE + SENDMAIL.replace("/usr/sbin/", ""))
    with outside_server() as outside:
        done = tclbridge("check", "--json", "kids.tcl", str(outside.port), cwd=tmp_path)
    assert outside.sessions == []
    result = json.loads(done.stdout)
    assert result["agree"], done.stdout
    assert result["runs"]["tcllib"]["messages"] == result["runs"]["bridge"]["messages"] == 4


def test_without_a_namespace_it_says_so_at_start(tmp_path: Path) -> None:
    # The fault: unshare refused, as where user namespaces are not allowed.
    (tmp_path / "hi.tcl").write_text("puts hi\n")
    code = (
        "import errno, tclbridge.sandbox, tclbridge.cli\n"
        "def refused(*flags):\n    raise OSError(errno.EPERM, 'Operation not permitted')\n"
        "tclbridge.sandbox._unshare = refused\n"
        "tclbridge.cli.main(['run', '--capture', 'cap', 'hi.tcl'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60, env=bridge_env())
    assert done.returncode == 0
    assert done.stdout == "hi\n"
    assert done.stderr == (
        "tclbridge: warning: no private network namespace (unshare: Operation not permitted): "
        "mail the script sends other than through the bridge's smtp or sendmail on PATH can "
        f"reach real servers\ntclbridge: nothing captured in {tmp_path / 'cap'}\n")


def test_a_caller_that_is_not_root_gets_a_user_namespace(tmp_path: Path) -> None:
    # `unshare --map-user` makes the bridge start as uid 1000 (not root), so
    # it takes the unprivileged path: a user namespace of its own.
    (tmp_path / "out.tcl").write_text(OUTSIDE + "puts [exec id -u]\n")
    with outside_server() as host_loopback:
        done = subprocess.run(
            ["unshare", "--map-user=1000", "--map-group=1000", sys.executable, "-m", "tclbridge",
             "run", "--capture", "cap", "out.tcl", str(host_loopback.port)],
            capture_output=True, text=True, cwd=tmp_path, timeout=60, env=bridge_env())
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"this kernel refuses user namespaces: {done.stderr.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "1:couldn't open socket: network is unreachable\n" * 2 + "1000\n"
    assert done.stderr == f"tclbridge: nothing captured in {tmp_path / 'cap'}\n"
    assert host_loopback.sessions == []


def test_a_child_whose_parent_server_is_gone_captures_on_its_own(tmp_path: Path) -> None:
    (tmp_path / "bridge_child.tcl").write_text(BRIDGE_CHILD)
    (tmp_path / "envcap").mkdir()
    (tmp_path / "envcap" / "0001.eml").write_text("the parent's")
    # No server on the parent's port, as after the parent exited.
    with unlistened_port() as gone, outside_server() as outside:
        done = tclbridge("run", "bridge_child.tcl", "127.0.0.1", str(outside.port), cwd=tmp_path,
                         env=bridge_env(TCLBRIDGE_CAPTURE=str(tmp_path / "envcap"),
                                        TCLBRIDGE_CAPTURE_SERVER=f"127.0.0.1:{gone}"))
    assert outside.sessions == []
    assert done.returncode == 0, done.stderr
    assert numbered(tmp_path / "envcap") == ["0001.eml", "0002.eml", "0002.json"]


@pytest.mark.parametrize("value", ["192.0.2.1:25", "mail.example.com:25", "127.0.0.1:x"])
def test_an_inherited_capture_server_must_be_on_loopback(tmp_path: Path, value: str) -> None:
    (tmp_path / "hi.tcl").write_text("puts hi\n")
    done = tclbridge("run", "hi.tcl", cwd=tmp_path,
                     env=bridge_env(TCLBRIDGE_CAPTURE_SERVER=value))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"tclbridge: TCLBRIDGE_CAPTURE_SERVER={value}: ")
    assert done.stderr.count("\n") == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="the deliberate escape is a root script's")
@pytest.mark.parametrize("command", ["run", "check"])
def test_a_root_script_cannot_leave_the_namespace(tmp_path: Path, command: str) -> None:
    # As root the script keeps its capabilities outside a plain network
    # namespace: it could join the host's again, or unmount the shim. The
    # sandbox gives those capabilities up before the script runs.
    script = write_deliberate_escape(tmp_path)
    with outside_server() as outside:
        args = ["run", "--capture", "cap"] if command == "run" else ["check", "--json"]
        done = tclbridge(*args, script.name, str(outside.port), cwd=tmp_path)
    assert outside.sessions == [], done.stdout
    if command == "run":
        assert done.stdout == "umount: 1\nescape: blocked\n", done.stdout + done.stderr


def test_a_foreign_capture_server_in_the_environment_is_not_trusted(tmp_path: Path) -> None:
    # TCLBRIDGE_CAPTURE_SERVER left over (or made up) naming some loopback
    # server that is not a capturing parent's: capture into DIR regardless.
    (tmp_path / "bridge_child.tcl").write_text(BRIDGE_CHILD)
    with RecordingServer() as foreign, outside_server() as outside:
        done = tclbridge("run", "bridge_child.tcl", "127.0.0.1", str(outside.port), cwd=tmp_path,
                         env=bridge_env(TCLBRIDGE_CAPTURE=str(tmp_path / "envcap"),
                                        TCLBRIDGE_CAPTURE_SERVER=f"127.0.0.1:{foreign.port}"))
    assert foreign.sessions == [] and outside.sessions == []
    assert done.returncode == 0, done.stderr
    assert numbered(tmp_path / "envcap") == ["0001.eml", "0001.json"]


@pytest.fixture
def service_sockets(tmp_path: Path):
    """Listening Unix sockets where a user's service manager (under /run/user)
    and a container engine (/run/docker.sock) keep theirs, made for the test
    (root only: /run is root's); yields their paths and what each heard."""
    import socket
    import threading

    if os.geteuid() != 0:
        pytest.skip("making sockets under /run needs root (CI runs as root)")
    user_dir = Path("/run/user/64999")
    engine = Path("/run/docker.sock")
    if user_dir.exists() or engine.exists():
        pytest.skip("a real service uses these paths here")
    user_dir.mkdir(parents=True)
    heard: list[bytes] = []
    listeners = []
    try:
        for path in (user_dir / "bus", engine):
            listener = socket.socket(socket.AF_UNIX)
            listener.bind(str(path))
            listener.listen()
            listener.settimeout(0.2)
            listeners.append(listener)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                for listener in listeners:
                    try:
                        conn, _ = listener.accept()
                    except OSError:
                        continue
                    with conn:
                        conn.settimeout(5)
                        heard.append(conn.recv(100))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield [str(user_dir / "bus"), str(engine)], heard
        stop.set()
        thread.join(5)
    finally:
        for listener in listeners:
            listener.close()
        engine.unlink(missing_ok=True)
        shutil.rmtree(user_dir, ignore_errors=True)


@pytest.mark.parametrize("command", ["run --capture", "check"])
def test_service_sockets_that_run_programs_outside_are_out_of_reach(
        tmp_path: Path, service_sockets, command: str) -> None:
    """A service manager (`systemd-run --user`) or a container engine would run
    a program in the host's network namespace for any client of its socket."""
    paths, heard = service_sockets
    script = write_service_escape(tmp_path)
    # Outside the sandbox the same client reaches both.
    outside = subprocess.run([sys.executable, "service_client.py", paths[0]], cwd=tmp_path,
                             capture_output=True, text=True, timeout=30)
    assert outside.stdout == "reached\n" and len(heard) == 1
    if command == "check":
        done = tclbridge("check", "--json", str(script), *paths, cwd=tmp_path)
        assert json.loads(done.stdout)["summary"].startswith("same"), done.stdout
    else:
        done = tclbridge("run", "--capture", "cap", str(script), *paths, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "reached" not in done.stdout and done.stdout.count("failed: ") == 2, done.stdout
    assert len(heard) == 1, heard
