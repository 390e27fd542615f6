"""`tclbridge check` tells the truth: no tcllib is "cannot compare", not a
difference; an uncaught error is compared by its message; runs that both
failed say so; each difference a docs/COMPAT.md entry explains is labelled
with it. Against real tclsh + tcllib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge.differential.reference import INSTALL_COMMAND
from tests.support import no_tcllib

REPO = Path(__file__).resolve().parent.parent


def check(*args: str, cwd: Path, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "check", *args], capture_output=True, text=True,
        cwd=cwd, timeout=timeout,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(REPO)})


# -- no tcllib ---------------------------------------------------------------------------


@pytest.mark.skipif(not no_tcllib.AVAILABLE, reason=no_tcllib.WHY_NOT)
def test_without_tcllib_check_cannot_compare(tmp_path: Path) -> None:
    """tclsh is there, tcllib's directory is hidden by a bind mount: check says
    it cannot compare (exit 2, the install command), not four differences."""
    (tmp_path / "s.tcl").write_text(
        "package require smtp\npackage require mime\n"
        "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
        "-servers mail.example.invalid -recipients a@example.com\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tclbridge", "check"]
    done = no_tcllib.run_without_tcllib([*command, "s.tcl"], cwd=tmp_path, env=env)
    assert (done.returncode, done.stdout) == (2, ""), done.stdout + done.stderr
    assert done.stderr == ("tclbridge check: tcllib's smtp/mime do not load in tclsh: can't find "
                           f"package smtp; install it with: {INSTALL_COMMAND}\n")
    done = no_tcllib.run_without_tcllib([*command, "--json", "s.tcl"], cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert (result["agree"], result["install"]) == (None, INSTALL_COMMAND)
    assert "can't find package smtp" in result["error"]
