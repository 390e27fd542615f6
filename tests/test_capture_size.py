"""Capture at any size: each message streamed to disk, memory flat, any size
accepted unless --capture-max-size sets a limit; the files as before."""

from __future__ import annotations

import hashlib
import json
import os
import re
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tclbridge import capture
from tclbridge.capture import Capture
from tclbridge.recorder import RecordingServer, Unstuffer
from tests.support.smtp_wire import WireClient
from tests.support.tcl_programs import HAVE_TCLSH

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000
_STUFFED_DOT = re.compile(rb"(?:^|(?<=\r\n))\.")  # the rule, on a whole message


def stuff(content: bytes) -> bytes:
    """`content` as on the wire after DATA, final dot included."""
    head = b"." if content.startswith(b".") else b""
    return head + content.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def big_message(size: int, subject: str = "big") -> bytes:
    """What a large message mostly is: an attachment, base64 in 76-character lines."""
    line = b"QmFzZTY0IGxpbmVzIG9mIGFuIGF0dGFjaG1lbnQsIHNpeHR5LXNldmVuIGJ5dGVzIGVhY2gsIG9r\r\n"
    head = f"From: a@x\r\nSubject: {subject}\r\n\r\n".encode()
    return head + line * ((size - len(head)) // len(line))


def prose(size: int) -> bytes:
    """Lines of 72 characters, a sentence ending on every fourth."""
    lines = b"The quick brown fox jumps over the lazy dog and runs off into the woods,\r\n" * 3
    lines += b"where it meets a bear, a wolf and a hare, all of them asleep in the sun.\r\n"
    return b"Subject: prose\r\n\r\n" + lines * (size // len(lines))


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def wait_closed(c: Capture) -> None:
    deadline = time.monotonic() + 5
    while c._server.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert c._server.open_connections == 0


# -- any size, streamed ---------------------------------------------------------------


def test_forty_megabytes_accepted(cap: Capture) -> None:
    content = big_message(40 * MB)
    host, port = cap.start()
    with WireClient(host, port) as client:
        ehlo = client.command("EHLO wire")[1].splitlines()
        assert "SIZE" in ehlo  # advertised without a number: no fixed maximum
        assert client.command(f"MAIL FROM:<a@x> SIZE={len(content)}") == (250, "OK")
        assert client.command("RCPT TO:<b@y>") == (250, "OK")
        assert client.data(stuff(content)) == (250, "OK")
    eml = cap.directory / "0001.eml"
    assert eml.stat().st_size == len(content)
    assert hashlib.sha256(eml.read_bytes()).digest() == hashlib.sha256(content).digest()
    record = json.loads(eml.with_suffix(".json").read_text())
    assert record["mail_options"] == [f"SIZE={len(content)}"]
    assert cap.summary_lines()[0] == "captured 0001.eml: from <a@x> to <b@y>, 40.0 MB, Subject: big"
    assert record["size"] == len(content)
    assert files(cap.directory) == ["0001.eml", "0001.json"]


def test_two_hundred_messages_in_flat_memory(tmp_path: Path) -> None:
    """The process hosting the capture server stays small while 200 messages
    of 2 MB each (400 MB) pass through it: kept in memory they need 400 MB+."""
    host_proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.capture_host", str(tmp_path / "out")],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert host_proc.stdout is not None
        host, port = host_proc.stdout.readline().split()
        content = big_message(2 * MB)
        wire = stuff(content)
        with WireClient(host, int(port)) as client:
            assert client.command("EHLO wire")[0] == 250
            for _ in range(200):
                assert client.command("MAIL FROM:<a@x>") == (250, "OK")
                assert client.command("RCPT TO:<b@y>") == (250, "OK")
                assert client.data(wire) == (250, "OK")
        out, _ = host_proc.communicate("", timeout=60)
    finally:
        host_proc.kill()
        host_proc.wait()
    lines = out.splitlines()
    peak_mib = int(lines[0].removeprefix("peak-rss-kib ")) / 1024
    # Each message: its line and the time line under it.
    assert len(lines) == 401 and lines[399].startswith("captured 0200.eml:")
    assert peak_mib < 150, f"capture process peaked at {peak_mib:.0f} MiB"
    assert (tmp_path / "out" / "0200.eml").read_bytes() == content
    assert len(files(tmp_path / "out")) == 400


# -- the .eml as before ----------------------------------------------------------------

# DATA as on the wire (final dot included), with what the .eml must hold: the
# rule applied to the whole message, as the in-memory recorder applies it.
HOSTILE = [
    b".\r\n",  # empty message
    b"..\r\n.\r\n",  # a lone stuffed dot
    b"...x\r\n..\r\nend.\r\n.\r\n",
    b"a.\r\n.b\r\n.\r\n",  # an unstuffed dot at a line start is still dropped
    b"bare\n.lf\n..\r\n.\r\n",  # only CRLF ends a line
    b"x\r\n.\r\r\n.\n\r\n.\r\n",  # ".\r\r\n" and ".\n\r\n" do not end DATA
    b"L" * 5000 + b".\r\n.." + b"M" * 3000 + b"\r\n.\r\n",  # long lines, dots at their ends
    b"..\r\n" * 3000 + b".\r\n",
    b"\r\n.\r\n",  # an empty line
    b"\r\n\r\n..x\r\n.\r\n",
    b".\r.\r\nz\r\n.\r\n",  # ".\r\n" after a bare CR is data
    b".\rx\r\n.\r\n",
    b"\r\r\n.\r\n",
    b"\r\n" * 2000 + b"..\r\n.\r\n",  # many line starts before any text
]


@pytest.mark.parametrize("wire", HOSTILE, ids=range(len(HOSTILE)))
def test_eml_holds_the_message_as_delivered(cap: Capture, wire: bytes) -> None:
    """Sent whole and split at each byte around every dot and line end: the
    .eml is what the in-memory recorder delivers, whatever pieces the stream
    arrives in."""
    with RecordingServer() as memory:
        with WireClient(memory.host, memory.port) as client:
            client.envelope()
            assert client.data(wire) == (250, "OK")
        expected = memory.messages[0].content
    host, port = cap.start()
    splits = sorted({i + d for i, b in enumerate(wire[:80]) if b in b".\r\n" for d in (0, 1)}
                    - {0, len(wire)})
    cuts: list[tuple[int, ...]] = [(), *((s,) for s in splits[:24])]
    with WireClient(host, port) as client:
        client.envelope()
        for n, pieces in enumerate(cuts, 1):
            if n > 1:
                assert client.command("MAIL FROM:<a@x>")[0] == 250
                assert client.command("RCPT TO:<b@y>")[0] == 250
            assert client.data(wire, pieces=pieces) == (250, "OK"), pieces
            assert (cap.directory / f"{n:04d}.eml").read_bytes() == expected, pieces


def test_unstuffer_matches_the_whole_message_rule() -> None:
    wire = b"..a\r\n.b\r\n\r\n...\r\nx.\r\n.\r\r\n\n.\r\n.y"
    expected = _STUFFED_DOT.sub(b"", wire)
    for i in range(len(wire) + 1):
        for j in range(i, len(wire) + 1):
            u = Unstuffer()
            assert u.feed(wire[:i]) + u.feed(wire[i:j]) + u.feed(wire[j:]) == expected, (i, j)


def test_next_command_behind_the_final_dot_is_kept(cap: Capture) -> None:
    """A pipelining client sends QUIT in the same packet as the end of DATA."""
    host, port = cap.start()
    with WireClient(host, port) as client:
        client.envelope()
        assert client.command("DATA")[0] == 354
        client.sock.sendall(b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        assert client.reply() == (250, "OK")
        assert client.reply()[0] == 221
    assert (cap.directory / "0001.eml").read_bytes() == b"Subject: x\r\n\r\nbody\r\n"


# -- nothing partial ---------------------------------------------------------------------


def test_connection_lost_mid_message_leaves_no_file(cap: Capture) -> None:
    host, port = cap.start()
    with WireClient(host, port) as client:
        client.envelope()
        assert client.command("DATA")[0] == 354
        client.sock.sendall(prose(3 * MB))  # no final dot: cut off
        time.sleep(0.2)
        assert [n for n in files(cap.directory) if n.endswith(".tmp")]  # it was streaming
    wait_closed(cap)
    assert files(cap.directory) == []
    (line,) = cap.summary_lines()
    assert line.startswith("no message: a connection from 127.0.0.1:")
    assert line.endswith("delivered nothing; it ended with: MAIL FROM:<a@x>, RCPT TO:<b@y>, DATA")


def test_stop_mid_message_leaves_no_file(cap: Capture) -> None:
    host, port = cap.start()
    with WireClient(host, port) as client:
        client.envelope()
        assert client.command("DATA")[0] == 354
        client.sock.sendall(b"Subject: half\r\n\r\nand then")
        time.sleep(0.1)
        cap.stop()
    assert files(cap.directory) == []


def test_disk_fault_mid_message_refuses_it(cap: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    write = capture._Spool.write

    def full_after_a_while(self: capture._Spool, data: bytes) -> None:
        if self.size > MB:
            raise OSError(28, "No space left on device")
        write(self, data)

    monkeypatch.setattr(capture._Spool, "write", full_after_a_while)
    host, port = cap.start()
    with WireClient(host, port) as client:
        client.envelope()
        refused = client.data(stuff(prose(3 * MB)))
        assert refused == (451, "4.3.0 Could not store the message")
        monkeypatch.setattr(capture._Spool, "write", write)  # the disk has room again
        assert client.command("MAIL FROM:<a@x>")[0] == 250  # the session goes on
        assert client.command("RCPT TO:<b@y>")[0] == 250
        assert client.data(b"small\r\n.\r\n") == (250, "OK")
    assert files(cap.directory) == ["0001.eml", "0001.json"]
    assert (cap.directory / "0001.eml").read_bytes() == b"small\r\n"


def test_sidecar_fault_removes_the_eml(cap: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(capture, "_write_new", full)
    with pytest.raises(smtplib.SMTPDataError) as err:
        with smtplib.SMTP(*cap.start(), local_hostname="c", timeout=5) as c:
            c.sendmail("a@x", ["b@y"], b"x\r\n")
    assert err.value.smtp_code == 451
    assert files(cap.directory) == []


# -- --capture-max-size --------------------------------------------------------------------


def test_max_size_refuses_larger_messages(tmp_path: Path) -> None:
    with Capture(tmp_path / "out", max_size=1000) as c:
        with WireClient(c._server.host, c._server.port) as client:
            ehlo = client.command("EHLO wire")[1].splitlines()
            assert "SIZE 1000" in ehlo
            # Declared too large: refused at MAIL, with aiosmtpd's words.
            assert client.command("MAIL FROM:<a@x> SIZE=1001") == (
                552, "Error: message size exceeds fixed maximum message size")
            # Undeclared: counted on the wire (dot-stuffing included), read to its end.
            for wire, reply in (
                (b"x" * 998 + b"\r\n.\r\n", (250, "OK")),  # exactly 1000
                (b"." + b"x" * 998 + b"\r\n.\r\n", (552, "Error: Too much mail data")),  # 1001
                (b"y" * 998 + b"\r\n.\r\n", (250, "OK")),
            ):
                assert client.command("MAIL FROM:<a@x>")[0] == 250
                assert client.command("RCPT TO:<b@y>")[0] == 250
                assert client.data(wire) == reply
    assert files(tmp_path / "out") == ["0001.eml", "0001.json", "0002.eml", "0002.json"]
    assert (tmp_path / "out" / "0002.eml").read_bytes() == b"y" * 998 + b"\r\n"


def test_max_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Capture(tmp_path, max_size=0)
    for bad in ("0", "-5", "1e6", "lots"):
        done = subprocess.run(
            [sys.executable, "-m", "tclbridge", "run", "--capture", str(tmp_path),
             "--capture-max-size", bad, "x.tcl"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "--capture-max-size" in done.stderr, bad
    done = subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", "--capture-max-size", "10", "x.tcl"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--capture-max-size needs --capture" in done.stderr


# Lines starting with "." are stuffed on the wire, so the declared SIZE (the
# message) passes a limit that the DATA (the wire) exceeds: the 552 comes
# after the final dot.
DOTS_SCRIPT = r"""
package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string [string repeat ".x\n" 1000]]
set rc [catch {
    smtp::sendmessage $tok -servers 127.0.0.1 -ports [lindex $argv 0] \
        -recipients a@example.com -header {From b@example.com} -header {Subject dots}
} result]
puts "rc=$rc result=$result"
"""


@pytest.mark.skipif(not HAVE_TCLSH, reason="needs tclsh and tcllib")
@pytest.mark.parametrize(("limit", "refusal"), [
    (4800, "Error: Too much mail data"),  # the message is about 4300 bytes, 5300 on the wire
    (1000, "Error: message size exceeds fixed maximum message size"),  # at MAIL
])
def test_script_sees_what_tcllib_sees_for_a_552(tmp_path: Path, limit: int, refusal: str) -> None:
    script = tmp_path / "dots.tcl"
    script.write_text(DOTS_SCRIPT)
    with Capture(tmp_path / "tcllib", max_size=limit) as c:
        tcllib = subprocess.run(["tclsh", str(script), str(c._server.port)],
                                capture_output=True, text=True, timeout=60)
        wait_closed(c)
        commands = c._server.sessions[0].commands
    mail = next(command for command in commands if command.startswith("MAIL"))
    size = int(mail.rpartition("SIZE=")[2])
    assert (size < limit < size + 1000) == (limit == 4800)  # which check refuses it
    bridge = subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", "--capture", str(tmp_path / "bridge"),
         "--capture-max-size", str(limit), str(script), "25"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert tcllib.stdout == f"rc=7 result=diagnostic {{{refusal}}} args {{}} code 552\n"
    assert bridge.stdout == tcllib.stdout
    assert files(tmp_path / "tcllib") == files(tmp_path / "bridge") == []
