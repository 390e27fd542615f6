"""Fuzzing the parser through the Tcl commands.

Random and mutated messages go through `mime::initialize -string/-file`,
then every part is read back (properties, headers, bodies, the built
message). Whatever the input, the result must be a value or a Tcl error of
tcllib's kind, never a Python exception (errorCode TCLBRIDGE ...), and the
time must stay proportional to the input's size.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tclbridge import Interp
from tests.support.hypothesis_runs import REPLAYABLE
from tests.support.mime_fuzz import messages

# Generous enough for a loaded 2-core CI machine, far below quadratic time.
TIME_BOUND = 2.0


def _run(tcl: Interp, mode: str, raw: str, path: Path, *, walk: bool = True) -> float:
    """Parse (and read back every part when `walk`); the seconds it took."""
    start = time.perf_counter()
    tcl.call("__parse", mode, raw, str(path), "1" if walk else "0")
    return time.perf_counter() - start


@settings(
    max_examples=150,
    deadline=None,
    **REPLAYABLE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=messages, mode=st.sampled_from(["string", "file"]))
def test_parser_never_fails_inside(walk_tcl: Interp, tmp_path: Path, raw: str, mode: str) -> None:
    elapsed = _run(walk_tcl, mode, raw, tmp_path / "fuzz.eml")
    assert elapsed <= TIME_BOUND, f"{len(raw)} chars took {elapsed:.2f}s"


def _deep(depth: int) -> str:
    head = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth)
    )
    tail = "".join(f"--b{i}--\n" for i in reversed(range(depth)))
    return head + "\nleaf\n" + tail


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("Subject: " + "x" * 60000 + "\n\nbody", id="huge-header"),
        pytest.param("X: y\n" * 12000 + "\nbody", id="many-headers"),
        pytest.param(
            "Content-Type: multipart/mixed; boundary=b\n\n" + "--b\n\nx\n" * 4000 + "--b--\n",
            id="many-parts",
        ),
        pytest.param(_deep(200), id="deep-200"),
        pytest.param("Content-Type: message/rfc822\n\n" * 2000, id="deep-messages"),
        pytest.param(
            "Content-Transfer-Encoding: base64\n\n" + "QUJD\n" * 12000, id="long-base64"
        ),
        pytest.param(
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n" + "line\r\n" * 10000,
            id="truncated",
        ),
    ],
)
@pytest.mark.parametrize("mode", ["string", "file"])
def test_large_inputs_are_linear(walk_tcl: Interp, tmp_path: Path, raw: str, mode: str) -> None:
    """Inputs of up to 64 KiB are parsed, built again and finalized within
    TIME_BOUND (linear work takes ~0.1 s; quadratic work takes many seconds)."""
    assert len(raw) <= 65536
    elapsed = _run(walk_tcl, mode, raw, tmp_path / "big.eml", walk=False)
    assert elapsed <= TIME_BOUND, f"{len(raw)} chars took {elapsed:.2f}s"


def test_deep_nesting_is_a_clear_error(walk_tcl: Interp) -> None:
    result = walk_tcl.eval(
        "list [catch {mime::initialize -string $::__deep} e] $e $::errorCode"
        if walk_tcl.call("set", "::__deep", _deep(300)) else ""
    )
    code, message, errorcode = walk_tcl.tk.splitlist(result)
    assert code == "1"
    assert "nested too deeply" in message
    assert errorcode.startswith("MIME")
