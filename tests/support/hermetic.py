"""Scripts that try every way out of a hermetic run, and how to run them.

Each script in `ESCAPES` tries to deliver one message to 127.0.0.1:PORT
(argv 0: PORT) by a path other than the bridge's own smtp and prints what
happened. A test starts a recording server on 127.0.0.1 in the host's
network namespace and passes its port: inside the sandbox that address is
the sandbox's own loopback, so the server must receive nothing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tclbridge.recorder import RecordingServer

REPO = Path(__file__).resolve().parent.parent.parent
TCLLIB_SMTP = next(iter(sorted(glob.glob("/usr/share/tcltk/tcllib*/mime/smtp.tcl"))), None)

RAW_SOCKET = r"""
proc expect {chan} { gets $chan line; puts "server: $line" }
if {[catch {
    set s [socket 127.0.0.1 [lindex $argv 0]]
    fconfigure $s -translation crlf -buffering line
    expect $s
    foreach line {"HELO me" "MAIL FROM:<a@example.com>" "RCPT TO:<b@example.com>" DATA} {
        puts $s $line; expect $s
    }
    puts $s "Subject: raw\n\nraw socket mail\n."; expect $s
    puts $s QUIT; close $s
} err]} { puts "failed: $err" } else { puts delivered }
"""

SOURCED_TCLLIB = r"""
source {@SMTP_TCL@}
set tok [mime::initialize -canonical text/plain -string "sourced smtp.tcl\n"]
if {[catch {smtp::sendmessage $tok -servers 127.0.0.1 -ports [lindex $argv 0] \
        -originator a@example.com -recipients b@example.com} err]} {
    puts "failed: $err"
} else { puts "result: $err" }
"""

PYTHON_SMTPLIB = r"""
if {[catch {tclbridge::call escape_helper.send [lindex $argv 0]} err]} {
    puts "failed: $err"
} else { puts delivered }
"""

PYTHON_HELPER = """
import smtplib

def send(port):
    with smtplib.SMTP("127.0.0.1", int(port), timeout=10) as client:
        client.sendmail("a@example.com", ["b@example.com"], b"Subject: py\\r\\n\\r\\nsmtplib\\r\\n")
"""

# A tcllib script the escapes run with `exec tclsh` (real tcllib, no bridge).
TCLLIB_CHILD = r"""
package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "child of tclsh\n"]
smtp::sendmessage $tok -servers [lindex $argv 0] -ports [lindex $argv 1] \
    -originator a@example.com -recipients b@example.com
puts "child sent"
"""

EXEC_TCLSH = r"""
if {[catch {exec tclsh tcllib_child.tcl 127.0.0.1 [lindex $argv 0]} err]} {
    puts "failed: [lindex [split $err \n] 0]"
} else { puts "child: $err" }
"""

ESCAPES = {
    "raw socket": RAW_SOCKET,
    "sourced tcllib smtp.tcl": SOURCED_TCLLIB,
    "tclbridge::call smtplib": PYTHON_SMTPLIB,
    "exec tclsh child": EXEC_TCLSH,
}


# What a new network namespace starts with (net.ipv4.ip_local_port_range):
# every port bound as port 0 inside a sandbox comes from this range.
NAMESPACE_EPHEMERAL_PORTS = range(32768, 61000)
OUTSIDE_PORTS = range(20000, NAMESPACE_EPHEMERAL_PORTS.start)


@contextlib.contextmanager
def outside_server() -> Iterator[RecordingServer]:
    """A recording server on the host's 127.0.0.1, at a port no server inside
    a sandbox can have. Those bind port 0 and get one from the namespace's
    ephemeral range; had this server one from the host's (bind(0) too), a
    script's probe of its port would now and then reach a sandbox server of
    the same number and look like an escape."""
    for port in random.sample(OUTSIDE_PORTS, 200):
        server = RecordingServer(port=port)
        try:
            server.start()
        except RuntimeError:  # taken on the host: the next one
            continue
        try:
            yield server
        finally:
            server.stop()
        return
    raise RuntimeError("no free port below the ephemeral range for the outside server")


def write_escape(directory: Path, name: str) -> Path:
    """The escape script `name` in `directory`, with the files it needs."""
    (directory / "escape_helper.py").write_text(PYTHON_HELPER)
    (directory / "tcllib_child.tcl").write_text(TCLLIB_CHILD)
    script = directory / "escape.tcl"
    script.write_text(ESCAPES[name].replace("@SMTP_TCL@", TCLLIB_SMTP or "smtp.tcl"))
    return script


def bridge_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def tclbridge(*args: str, cwd: Path, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m tclbridge ARGS...` in `cwd`."""
    return subprocess.run([sys.executable, "-m", "tclbridge", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout,
                          env=bridge_env() if env is None else env)


def numbered(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


# A root script that sets out to leave: join the network namespace of any
# process outside (as `nsenter --net=/proc/N/ns/net` would), then send to
# the host's loopback; and take the sendmail shim away.
NETNS_ESCAPE = r"""
import ctypes, glob, os, smtplib, sys
libc = ctypes.CDLL(None, use_errno=True)
mine = os.readlink("/proc/self/ns/net")
for link in glob.glob("/proc/[0-9]*/ns/net"):
    try:
        if os.readlink(link) == mine:
            continue
        fd = os.open(link, os.O_RDONLY)
    except OSError:
        continue
    if libc.setns(fd, 0x40000000) == 0:
        try:
            with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5) as s:
                s.sendmail("a@example.com", ["b@example.com"], "Subject: out\n\nout\n")
            print("delivered via " + link)
        except OSError as exc:
            print("joined but failed: %s" % exc)
        sys.exit(0)
print("blocked")
"""

DELIBERATE_ESCAPE = r"""
puts "umount: [catch {exec umount /usr/sbin/sendmail}]"
puts "escape: [exec @PYTHON@ netns_escape.py [lindex $argv 0]]"
"""


def write_deliberate_escape(directory: Path) -> Path:
    (directory / "netns_escape.py").write_text(NETNS_ESCAPE)
    script = directory / "deliberate.tcl"
    script.write_text(DELIBERATE_ESCAPE.replace("@PYTHON@", sys.executable))
    return script


# A client of a local service that would run a program outside the sandbox
# (a service manager's or container engine's socket): argv is the socket.
SERVICE_CLIENT = r"""
import socket, sys
try:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(sys.argv[1])
        s.sendall(b"run: mail out\n")
    print("reached")
except OSError as exc:
    print("failed: %s" % exc.strerror)
"""

SERVICE_ESCAPE = r"""
foreach path $argv { puts "$path [exec @PYTHON@ service_client.py $path]" }
"""


def write_service_escape(directory: Path) -> Path:
    (directory / "service_client.py").write_text(SERVICE_CLIENT)
    script = directory / "service.tcl"
    script.write_text(SERVICE_ESCAPE.replace("@PYTHON@", sys.executable))
    return script
