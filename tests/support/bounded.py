"""Work run in a child process under a hard time limit, for the complexity
guards: a quadratic regression then fails its test instead of hanging the
suite, and a loaded machine only makes linear work slower, never failing.

The limit is far from both outcomes: the guarded inputs take linear code a
second or two and quadratic code minutes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Seconds a guarded piece of work may take (linear: ~1-3 s on a busy 2-core
# machine; the quadratic code it replaced: minutes).
LIMIT = 30.0


def _run(argv: list[str], what: str, limit: float) -> str:
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=limit, cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} still running after {limit:g} s: it is no longer linear")
    assert proc.returncode == 0, f"{what} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


def run_tcl(script: str, what: str, limit: float = LIMIT) -> str:
    """Run a Tcl script with `tclbridge run` (the real mime commands); its
    standard output."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "guard.tcl")
        path.write_text("package require mime\n" + script)
        return _run([sys.executable, "-m", "tclbridge", "run", str(path)], what, limit)


def run_python(code: str, what: str, limit: float = LIMIT) -> str:
    """Run Python code in a fresh interpreter; its standard output."""
    return _run([sys.executable, "-c", code], what, limit)


def run_tclsh(script: str, limit: float = 60.0) -> str:
    """Run a Tcl script with tclsh and Debian's tcllib; its standard output."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "reference.tcl")
        path.write_text("package require mime\n" + script)
        return _run(["tclsh", str(path)], "tclsh", limit)
