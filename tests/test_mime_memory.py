"""A 100 MB `-file` attachment is streamed, never held in memory whole.

Each script runs in its own process (`python -m tclbridge run`), started by a
small wrapper that reports the child's peak resident set size
(`ru_maxrss` of RUSAGE_CHILDREN, so no other child of pytest is counted).
The output of a 1 MB attachment is compared with tcllib's byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.discard_sink import DiscardSink
from tests.support.mime_harness import HAVE_TCLLIB, TCLSH
from tests.support.mime_normalise import fix_tcllib_170, mask

MB = 1 << 20
BIG = 100 * MB
# Python + Tcl + the bridge's modules need ~30 MB; the 100 MB file (137 MB
# once base64-encoded) must add no more than buffers.
PEAK_LIMIT_KB = 64 * 1024

BUILD = r"""
lassign $argv path out port
package require mime
set body [mime::initialize -canonical text/plain -string "see attached"]
set file [mime::initialize -canonical application/octet-stream -encoding base64 \
    -file $path -header {Content-Disposition {attachment; filename="big.bin"}}]
set top [mime::initialize -canonical multipart/mixed -parts [list $body $file] \
    -header {Subject {big one}}]
"""
COPY = BUILD + r"""
set ch [open $out w]
fconfigure $ch -translation crlf
mime::copymessage $top $ch
close $ch
"""
BUILDMESSAGE = BUILD + r"""
set ch [open $out w]
fconfigure $ch -translation binary
puts -nonewline $ch [mime::buildmessage $top]
close $ch
"""
SEND = BUILD + r"""
package require smtp
set r [smtp::sendmessage $top -servers 127.0.0.1 -ports $port \
    -originator a@example.com -header {To b@example.com}]
if {$r ne ""} { error "send failed: $r" }
"""

_WRAPPER = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(proc.returncode, peak)
"""


def run_measured(script: Path, *args: str) -> int:
    """Runs the script under the bridge; its peak RSS in KiB."""
    wrapper = subprocess.run(
        [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "tclbridge", "run",
         str(script), *args],
        capture_output=True, text=True, timeout=600,
    )
    assert wrapper.returncode == 0, wrapper.stderr
    code, peak = wrapper.stdout.split()
    assert code == "0", wrapper.stderr
    return int(peak)


def make_file(path: Path, size: int) -> str:
    """Writes `size` bytes of varied binary data; returns their sha256."""
    digest = hashlib.sha256()
    block = bytes(range(256)) * 4 + os.urandom(MB - 1024)
    with path.open("wb") as out:
        written = 0
        while written < size:
            data = block[: min(MB, size - written)]
            out.write(data)
            digest.update(data)
            written += len(data)
            block = block[7:] + block[:7]
    return digest.hexdigest()


def attachment_digest(message: Path) -> str:
    """The sha256 of the base64 attachment in a written message, read line
    by line (the test process must not hold it either)."""
    digest = hashlib.sha256()
    state = "before"
    pending = b""
    with message.open("rb") as lines:
        for line in lines:
            if state == "before":
                if line.startswith(b"Content-Disposition: attachment"):
                    state = "headers"
            elif state == "headers":
                if line == b"\r\n":
                    state = "body"
            elif line.startswith(b"--"):
                break
            else:
                # tcllib encodes each 32766-byte piece on its own: a piece's
                # last line can end in "=" padding mid-stream.
                pending += line.rstrip(b"\r\n")
                if pending.endswith(b"=") or len(pending) % 4 == 0:
                    digest.update(base64.b64decode(pending, validate=True))
                    pending = b""
    assert not pending and state == "body"
    return digest.hexdigest()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("big") / "big.bin"
    return path, make_file(path, BIG)


def test_copymessage_streams_100mb(big_file: tuple[Path, str], tmp_path: Path) -> None:
    path, digest = big_file
    script = tmp_path / "copy.tcl"
    script.write_text(COPY)
    out = tmp_path / "out.eml"
    peak = run_measured(script, str(path), str(out), "0")
    assert out.stat().st_size > BIG * 4 // 3
    assert attachment_digest(out) == digest
    out.unlink()
    assert peak < PEAK_LIMIT_KB, f"peak RSS {peak // 1024} MB"


def test_sendmessage_streams_100mb(big_file: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = big_file
    script = tmp_path / "send.tcl"
    script.write_text(SEND)
    with DiscardSink() as sink:
        peak = run_measured(script, str(path), "", str(sink.port))
    assert len(sink.data_sizes) == 1
    assert sink.data_sizes[0] > BIG * 4 // 3
    assert peak < PEAK_LIMIT_KB, f"peak RSS {peak // 1024} MB"


PARSE = r"""
lassign $argv path
package require mime
set top [mime::initialize -file $path]
set parts [mime::getproperty $top parts]
set attachment [lindex $parts 1]
proc count {reason {data ""}} {
    if {$reason eq "data"} { incr ::bytes [string length $data] }
    return
}
set ::bytes 0
mime::getbody $attachment -command count -blocksize 65536
puts "[llength $parts] [mime::getproperty $attachment content] $::bytes"
"""


def test_parsing_a_100mb_message_file_streams(big_file: tuple[Path, str], tmp_path: Path) -> None:
    # `initialize -file` reads the file line by line to find the parts, and
    # getbody reads the attachment in blocks: the 137 MB file never in memory.
    path, _ = big_file
    (tmp_path / "copy.tcl").write_text(COPY)
    message = tmp_path / "big.eml"
    run_measured(tmp_path / "copy.tcl", str(path), str(message), "0")
    script = tmp_path / "parse.tcl"
    script.write_text(PARSE)
    wrapper = subprocess.run(
        [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "tclbridge", "run",
         str(script), str(message)],
        capture_output=True, text=True, timeout=600,
    )
    assert wrapper.returncode == 0, wrapper.stderr
    printed, measured = wrapper.stdout.splitlines()
    assert printed == f"2 application/octet-stream {BIG}"
    code, peak = measured.split()
    assert code == "0" and int(peak) < PEAK_LIMIT_KB, f"peak RSS {int(peak) // 1024} MB"


# -- the same bytes as tcllib, for a smaller file ----------------------------------------


def run_tclsh_script(script: Path, *args: str) -> None:
    driver = f"set argv {{{' '.join(args)}}}\nsource {script}\n"
    proc = subprocess.run([TCLSH], input=driver.encode(), capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


@pytest.mark.skipif(not HAVE_TCLLIB, reason="needs tclsh and tcllib mime")
@pytest.mark.parametrize("script_text", [COPY, BUILDMESSAGE], ids=["copymessage", "buildmessage"])
def test_1mb_attachment_same_as_tcllib(script_text: str, tmp_path: Path) -> None:
    path = tmp_path / "one.bin"
    make_file(path, MB + 12345)
    script = tmp_path / "script.tcl"
    script.write_text(script_text)
    ref, our = tmp_path / "ref.eml", tmp_path / "our.eml"
    run_tclsh_script(script, str(path), str(ref), "0")
    run_measured(script, str(path), str(our), "0")
    expected = mask(fix_tcllib_170(ref.read_bytes().decode("latin-1")))
    actual = mask(our.read_bytes().decode("latin-1"))
    assert actual == expected
