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

from tclbridge.differential.reference import INSTALL_COMMAND, find_tclsh, tcllib_missing
from tests.support import no_tcllib

REPO = Path(__file__).resolve().parent.parent
TCLSH = find_tclsh()
needs_tcllib = pytest.mark.skipif(tcllib_missing(TCLSH) is not None,
                                  reason=tcllib_missing(TCLSH) or "")
# The bridge defines ::tclbridge: a script can take another path under it.
BRIDGE = "[namespace exists ::tclbridge]"


def check(*args: str, cwd: Path, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "check", *args], capture_output=True, text=True,
        cwd=cwd, timeout=timeout,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(REPO)})


def check_json(script: str, tmp_path: Path, *args: str) -> tuple[int, dict]:
    (tmp_path / "s.tcl").write_text(script)
    done = check("--json", *args, "s.tcl", cwd=tmp_path)
    assert done.returncode in (0, 1, 2), done.stderr
    return done.returncode, json.loads(done.stdout)


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


# -- uncaught errors ---------------------------------------------------------------------


@needs_tcllib
def test_different_uncaught_errors_are_a_difference(tmp_path: Path) -> None:
    """Both exit 1 (the same code): the messages differ, and that is a difference.
    Something written to stderr first is not taken for the message."""
    code, result = check_json(f"""package require smtp
puts stderr "a warning first"
if {{{BRIDGE}}} {{error "bridge broke\\nsecond line"}} else {{error "tcllib broke\\nsecond line"}}
""", tmp_path)
    assert code == 1
    assert result["differences"] == [
        {"aspect": "error", "where": "uncaught error", "tcllib": "'tcllib broke\\nsecond line'",
         "bridge": "'bridge broke\\nsecond line'"}]
    assert result["runs"]["tcllib"]["error"] == "tcllib broke\nsecond line"
    assert result["both_failed"] is True and result["agree"] is False
    done = check("s.tcl", cwd=tmp_path)
    assert done.returncode == 1
    assert "1. uncaught error" in done.stdout
    assert "'tcllib broke\\nsecond line'" in done.stdout
    assert "'bridge broke\\nsecond line'" in done.stdout


@needs_tcllib
def test_exit_code_difference_names_the_error(tmp_path: Path) -> None:
    code, result = check_json(f"""package require smtp
set x 1
if {{!{BRIDGE}}} {{error "only tcllib fails"}}
""", tmp_path)
    assert code == 1
    assert result["differences"] == [
        {"aspect": "exit", "where": "exit code",
         "tcllib": "1 (uncaught error: 'only tcllib fails')", "bridge": "0"}]


@needs_tcllib
def test_both_runs_failed_is_said(tmp_path: Path) -> None:
    """The same uncaught error in both runs: they agree (exit 0), and the summary
    says both failed, with the message (its -password value hidden)."""
    script = """package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string hi]
smtp::sendmessage $tok -servers mail.example.invalid -username u -password s3cretpass -debug
"""
    code, result = check_json(script, tmp_path)
    message = ("Each option must have a value!  Invalid option list: -servers "
               "mail.example.invalid -username u -password <hidden> -debug")
    assert code == 0
    assert (result["agree"], result["both_failed"]) == (True, True)
    assert result["summary"] == f"same, but both runs failed: {message}"
    assert {name: run["error"] for name, run in result["runs"].items()} == {
        "tcllib": message, "bridge": message}
    done = check("s.tcl", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == f"same, but both runs failed: {message}"
    assert "s3cretpass" not in done.stdout + done.stderr


@needs_tcllib
def test_error_report_stays_with_the_run(tmp_path: Path) -> None:
    """A child `tclbridge run` that fails does not report its error as the
    parent's, and the script does not see the variable that asks for it."""
    (tmp_path / "child.tcl").write_text('error "child broke"\n')
    code, result = check_json(f"""
puts [info exists ::env(TCLBRIDGE_ERROR_REPORT)]
puts [catch {{exec {sys.executable} -m tclbridge run child.tcl}}]
""", tmp_path)
    assert code == 0, result
    assert (result["agree"], result["both_failed"]) == (True, False)
    assert result["runs"]["tcllib"]["error"] is None and result["runs"]["bridge"]["error"] is None
