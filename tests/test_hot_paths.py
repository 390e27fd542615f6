"""The fast paths of the hot loops give what the plain way gives: base64
cut into tcllib's lines, SMTP SIZE computed without encoding, sends handed
to reused worker threads. Nothing here is timed."""

from __future__ import annotations

import base64
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tclbridge.mime import build_message, new_part
from tclbridge.mime.generator import message_size
from tclbridge.mime.layout import TCL_SPACE, TCLLIB, LineScan
from tclbridge.mime.transfer_encodings import base64_lines, base64_size, qp_encode
from tclbridge.tcl.eventloop import WorkerThreads
from tests.support.hypothesis_runs import REPLAYABLE
from tests.support.mime_harness import HAVE_TCLLIB, TCLLIB_QP_FIX, TCLSH


def piecewise_base64(raw: bytes, piece: int, width: int) -> bytes:
    """The plain way: each piece on its own, cut every `width` characters,
    lines joined by LF, pieces run together."""
    out = []
    for start in range(0, len(raw), piece or max(len(raw), 1)):
        encoded = base64.b64encode(raw[start : start + (piece or len(raw))])
        if width > 0:
            encoded = b"\n".join(
                encoded[i : i + width] for i in range(0, len(encoded), width)
            )
        out.append(encoded)
    return b"".join(out)


@settings(max_examples=300, deadline=None, **REPLAYABLE)
@given(
    raw=st.binary(max_size=700),
    piece=st.sampled_from([0, 3, 5, 57, 58, 300]),
    width=st.sampled_from([76, 4, 7, 0, -1]),
)
def test_base64_lines_match_piecewise_encoding(raw: bytes, piece: int, width: int) -> None:
    got = base64_lines(raw, piece, width)
    assert got == piecewise_base64(raw, piece, width)
    chars, breaks = base64_size(len(raw), piece, width)
    assert (chars, breaks) == (len(got) - got.count(b"\n"), got.count(b"\n"))


def test_base64_lines_of_file_blocks() -> None:
    raw = bytes(range(256)) * 1100  # more than two of tcllib's 32766-byte pieces
    for size in (TCLLIB.file_piece, TCLLIB.file_piece + 1, len(raw)):
        expected = piecewise_base64(raw[:size], TCLLIB.file_piece, 76)
        assert base64_lines(raw[:size], TCLLIB.file_piece) == expected


def plain_line_check(text: str, long_line: int) -> tuple[bool, bool]:
    """tcllib's two questions, line by line: only tab, LF and printable
    ASCII (a character above U+00FF counts by its low byte)? No line longer
    than `long_line`, ending in white space, or starting "." or "From "?"""
    def plain(char: str) -> bool:
        code = ord(char)
        return char in "\t\n" or 32 <= (code & 0xFF if code > 0xFF else code) <= 126

    ascii_only = all(plain(c) for c in text)
    safe = not any(
        len(line) > long_line or line[-1:] in tuple(TCL_SPACE) or line.startswith((".", "From "))
        for line in text.split("\n")
    )
    return ascii_only, safe


@settings(max_examples=400, deadline=None, **REPLAYABLE)
@given(
    words=st.lists(
        st.sampled_from(["a", "bc ", " ", "\t", "\n", "\n\n", ".", "From ", "From", "x" * 40,
                         "\xa0", "\u2028", "\u0141", "\u0105", "\x85", "\xe9", "\r", "\x7f"]),
        max_size=40,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_line_scan_answers_as_line_by_line(words: list[str], cuts: list[int]) -> None:
    text = "".join(words)
    scan = LineScan(76)
    start = 0
    for cut in sorted(cuts) + [len(text)]:
        scan.feed(text[start:cut])
        start = max(start, cut)
    scan.close()
    assert (scan.ascii, scan.safe) == plain_line_check(text, 76)


def _qp_samples() -> list[str]:
    """Texts that meet every rule of tcllib's qp_encode: characters it
    escapes, lines cut next to an =XX, lone dots, "From " lines, trailing
    blanks, characters above U+00FF."""
    rng = random.Random(11)
    alphabet = "ab =\t\n.F_?" + "".join(map(chr, range(0, 256, 5))) + "\u20ac\u4e2d"
    samples = [
        "x" * 71 + "=" + "y" * 10, "x" * 70 + "=" + "y" * 10, "x" * 72 + "\xe9" * 5,
        "a\n.\nb", ".\n.\n.", "From me\nFrom you", "end \nend\t\nend ", "w" * 73,
        "\u4e2d" * 80, "=" * 150, "",
    ]
    for _ in range(60):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 240)))
        samples.append(text.replace("F", "\nFrom ") if rng.random() < 0.3 else text)
    return samples


@pytest.mark.skipif(not HAVE_TCLLIB, reason="needs tclsh and tcllib mime")
def test_qp_encode_matches_tcllib() -> None:
    samples = _qp_samples()
    calls = ("mime::qp_encode $s", "mime::qp_encode $s 1", "mime::qp_encode $s 0 1")
    # tcllib with its lone-dot-line bug fixed: the one place the bridge's
    # quoted-printable departs from it (docs/COMPAT.md, qp-dot-line).
    script = "package require mime\n" + TCLLIB_QP_FIX
    for text in samples:
        literal = "".join(f"\\u{ord(c):04x}" for c in text)
        script += f'set s "{literal}"\n'
        for call in calls:
            script += f"puts [binary encode hex [encoding convertto utf-8 [{call}]]]\n"
    out = subprocess.run(
        [TCLSH], input=script.encode(), capture_output=True, check=True, timeout=120
    ).stdout.decode().split("\n")
    expected = iter(bytes.fromhex(line).decode("utf-8") for line in out)
    for text in samples:
        assert qp_encode(text) == next(expected), text
        assert qp_encode(text, True) == next(expected), text
        assert qp_encode(text, False, True) == next(expected), text


@pytest.mark.parametrize(
    "size", [0, 1, 56, 57, TCLLIB.file_piece, TCLLIB.file_piece + 1, TCLLIB.file_read + 7]
)
def test_message_size_is_the_built_length(tmp_path: Path, size: int) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    attached = new_part(canonical="application/octet-stream", file=str(path), encoding="base64")
    text = new_part(canonical="text/plain", string="caf\u00e9 \u20ac\nline two\n")
    qp = new_part(canonical="text/plain", string="x" * 200 + "\n.\nFrom me\n ")
    plain = new_part(canonical="text/plain", file=str(path), encoding="7bit")
    top = new_part(canonical="multipart/mixed", parts=[text, attached, qp, plain],
                   headers=[("Subject", "size")])
    for encoding in ("utf-8", "iso8859-1"):
        assert message_size(top, encoding) == len(build_message(top, encoding))
    assert message_size(attached) == len(build_message(attached))


WAIT = 10


def _run_and_wait(workers: WorkerThreads, job) -> None:
    finished = threading.Event()

    def wrapped() -> None:
        job()
        finished.set()

    workers.submit(wrapped)
    assert finished.wait(WAIT)


def _wait_until_idle(workers: WorkerThreads) -> None:
    """A worker counts itself idle only after its job returned."""
    for _ in range(WAIT * 100):
        if workers._idle:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the worker never became idle")


def test_worker_thread_is_reused_for_the_next_job() -> None:
    workers = WorkerThreads()
    idents: list[int] = []
    for _ in range(3):
        _run_and_wait(workers, lambda: idents.append(threading.get_ident()))
        _wait_until_idle(workers)
    workers.close()
    assert len(idents) == 3
    assert len(set(idents)) == 1


def test_job_submitted_while_worker_busy_runs_at_once_in_another_thread() -> None:
    workers = WorkerThreads()
    release = threading.Event()
    started = threading.Event()
    idents: list[int] = []

    def blocking() -> None:
        idents.append(threading.get_ident())
        started.set()
        release.wait(WAIT)

    workers.submit(blocking)
    assert started.wait(WAIT)
    _run_and_wait(workers, lambda: idents.append(threading.get_ident()))
    release.set()
    workers.close()
    assert len(set(idents)) == 2


def test_close_ends_idle_workers() -> None:
    workers = WorkerThreads()
    threads: list[threading.Thread] = []
    _run_and_wait(workers, lambda: threads.append(threading.current_thread()))
    _wait_until_idle(workers)
    workers.close()
    threads[0].join(WAIT)
    assert not threads[0].is_alive()


def test_idle_worker_ends_after_its_timeout_and_the_next_job_still_runs() -> None:
    workers = WorkerThreads(idle_timeout=0.05)
    threads: list[threading.Thread] = []
    _run_and_wait(workers, lambda: threads.append(threading.current_thread()))
    threads[0].join(WAIT)
    assert not threads[0].is_alive()
    assert workers._idle == 0
    _run_and_wait(workers, lambda: threads.append(threading.current_thread()))
    assert threads[1] is not threads[0]
    workers.close()


def test_tclbridge_run_start_up_leaves_heavy_modules_unloaded(tmp_path: Path) -> None:
    """`tclbridge run` is measured against tclsh's start-up: the Python API
    (the email package) and the other subcommands (aiosmtpd, asyncio) must
    not be imported for it."""
    script = tmp_path / "probe.tcl"
    script.write_text(
        "package require smtp\npackage require mime\n"
        "puts [join [lsort [::probe_modules]] { }]\n"
    )
    probe = (
        "import sys, tclbridge.cli as cli, tclbridge.interp as interp\n"
        "heavy = ('email.policy', 'tclbridge.smtp.api', 'tclbridge.check', 'aiosmtpd', 'asyncio')\n"
        "orig = interp.Interp.__init__\n"
        "def init(self, *a, **k):\n"
        "    orig(self, *a, **k)\n"
        "    self.tk.createcommand('::probe_modules',\n"
        "                          lambda: [m for m in heavy if m in sys.modules] or ['none'])\n"
        "interp.Interp.__init__ = init\n"
        f"cli.main(['run', {str(script)!r}])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "none"
