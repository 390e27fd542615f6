"""`tclbridge check`: a user's script under real tclsh + tcllib and under the bridge,
both against the check's own capture server, compared."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tclbridge.check import CheckResult, render, run_check
from tclbridge.differential.outcome import Difference, ObservedRun
from tclbridge.differential.reference import INSTALL_COMMAND, find_tclsh, tcllib_missing

REPO = Path(__file__).resolve().parent.parent
TCLSH = find_tclsh()
needs_tcllib = pytest.mark.skipif(tcllib_missing(TCLSH) is not None,
                                  reason=tcllib_missing(TCLSH) or "")

# Sends one message; which implementation runs it decides the Subject, the first
# body line and an extra output line (the bridge defines the ::tclbridge namespace).
PLANTED_CONTENT = r"""
package require smtp
package require mime
set impl [expr {[namespace exists ::tclbridge] ? "bridge" : "tcllib"}]
set tok [mime::initialize -canonical text/plain -string "Body from $impl.\nSame line.\n"]
smtp::sendmessage $tok -servers mail.example.invalid -originator ops@example.com \
    -recipients team@example.com -header [list Subject "Report from $impl"]
puts sent
if {$impl eq "bridge"} { puts "only under the bridge" }
"""

# The recipient depends on the implementation.
PLANTED_RECIPIENT = r"""
package require smtp
package require mime
set to [expr {[namespace exists ::tclbridge] ? "b@example.com" : "a@example.com"}]
set tok [mime::initialize -canonical text/plain -string "hello\n"]
smtp::sendmessage $tok -servers mail.example.invalid -originator ops@example.com \
    -recipients $to
"""


def check(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "check", *args], capture_output=True, text=True,
        cwd=cwd, timeout=timeout,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(REPO)})


@needs_tcllib
def test_manual_example_is_the_same() -> None:
    done = check("examples/send_simple_message.tcl")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == (
        "same: tcllib and the bridge agree (exit code 0, 1 SMTP session, 1 message delivered)")


@needs_tcllib
def test_site_policy_in_the_environment_is_not_applied(tmp_path: Path) -> None:
    # tls.required would fail every bridge run (the check server has no
    # STARTTLS); the deny list would refuse the example's recipient.
    site = tmp_path / "policy.toml"
    site.write_text('[tls]\nrequired = true\n[recipients]\ndeny_domains = ["somewhere.com"]\n')
    done = check("examples/send_simple_message.tcl",
                 env={**os.environ, "TCLBRIDGE_POLICY": str(site)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == (
        "same: tcllib and the bridge agree (exit code 0, 1 SMTP session, 1 message delivered)")
    assert "without the site policy" in check("--help").stdout.replace("\n", " ")


@needs_tcllib
def test_planted_difference_in_plain_words(tmp_path: Path) -> None:
    (tmp_path / "planted.tcl").write_text(PLANTED_CONTENT)
    done = check("planted.tcl", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    # Each difference: a heading, a "tcllib | bridge" row, then the two values side by side.
    subject = next(n for n, line in enumerate(lines) if "'Subject: Report from tcllib'" in line)
    assert re.fullmatch(r"\d\. message content, message 1: header line \d+", lines[subject - 2])
    assert lines[subject - 1].split() == ["tcllib", "|", "bridge"]
    left, right = (cell.strip() for cell in lines[subject].split("|"))
    assert (left, right) == ("'Subject: Report from tcllib'", "'Subject: Report from bridge'")
    assert any("message content, message 1: decoded body line 1" in line for line in lines)
    assert "'Body from tcllib.\\r\\n'" in done.stdout
    assert "'Body from bridge.\\r\\n'" in done.stdout
    assert any(line.startswith("1. standard output") for line in lines)
    assert "extra 'only under the bridge\\n'" in done.stdout
    assert lines[-1] == "differ: 3 differences (1 in standard output, 2 in message content)"


@needs_tcllib
def test_json_result(tmp_path: Path) -> None:
    (tmp_path / "planted.tcl").write_text(PLANTED_RECIPIENT)
    done = check("--json", "planted.tcl", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["agree"] is False
    assert result["script"] == "planted.tcl" and result["args"] == []
    assert {"aspect": "envelope", "where": "message 1 RCPT TO",
            "tcllib": "['a@example.com']", "bridge": "['b@example.com']",
            "compat": []} in result["differences"]
    # EHLO, STARTTLS, EHLO, MAIL, RCPT: the check's server offers STARTTLS.
    assert {"aspect": "commands", "where": "session 1, command 5",
            "tcllib": "'RCPT TO:<a@example.com>'",
            "bridge": "'RCPT TO:<b@example.com>'", "compat": []} in result["differences"]
    assert {d["aspect"] for d in result["differences"]} == {"commands", "envelope"}
    assert result["summary"].startswith(f"differ: {len(result['differences'])} differences")
    assert result["runs"] == {"tcllib": {"exit": 0, "error": None, "sessions": 1, "messages": 1},
                              "bridge": {"exit": 0, "error": None, "sessions": 1, "messages": 1}}


@needs_tcllib
def test_arguments_passed_and_mail_captured_locally(tmp_path: Path) -> None:
    """The script names a server that cannot resolve; its mail still reaches the
    check's server on 127.0.0.1, in both runs. Its own connections are not redirected."""
    script = tmp_path / "args.tcl"
    script.write_text(r"""
package require smtp
package require mime
proc accept {chan addr port} { puts $chan "own server"; close $chan }
set listener [socket -server accept -myaddr 127.0.0.1 0]
set client [socket 127.0.0.1 [lindex [fconfigure $listener -sockname] 2]]
fileevent $client readable {set ::line [gets $client]}
vwait ::line
puts "own connection: $::line"
puts "$argv0|$argc|[lindex $argv 1]"
set tok [mime::initialize -canonical text/plain -string "hello\n"]
smtp::sendmessage $tok -servers mail.example.invalid -ports 2525 \
    -originator ops@example.com -recipients [lindex $argv 0]
""")
    assert TCLSH is not None
    result = run_check(str(script), ["x@example.org", "two words"], tclsh=TCLSH, timeout=60)
    assert result.agree, [str(d) for d in result.differences]
    for outcome in (result.tcllib, result.bridge):
        assert outcome.stdout == f"own connection: own server\n{script}|2|two words\n"
        assert [m.rcpt_tos for m in outcome.messages] == [["x@example.org"]]


@needs_tcllib
def test_multipart_agrees_with_documented_fixes(tmp_path: Path) -> None:
    """tcllib writes Content-Transfer-Encoding and mime 1.7.0 the boundary twice;
    the bridge once (docs/COMPAT.md cte-once, boundary-once): not a difference."""
    (tmp_path / "multi.tcl").write_text(r"""
package require smtp
package require mime
set text [mime::initialize -canonical text/plain -string "See the attached report.\n"]
set data [mime::initialize -canonical application/octet-stream -encoding base64 \
    -string "\x00\x01binary\xff"]
set tok [mime::initialize -canonical multipart/mixed -parts [list $text $data]]
smtp::sendmessage $tok -servers mail.example.invalid -recipients team@example.com
""")
    done = check("multi.tcl", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("same: ")


@needs_tcllib
def test_timeout_per_run(tmp_path: Path) -> None:
    (tmp_path / "hang.tcl").write_text(
        "if {[namespace exists ::tclbridge]} {vwait forever}\nputs done\n")
    started = time.monotonic()
    done = check("--json", "--timeout", "2", "hang.tcl", cwd=tmp_path)
    assert time.monotonic() - started < 30
    assert done.returncode == 2, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert (result["agree"], result["timed_out"]) == (False, ["bridge"])
    assert {"aspect": "exit", "where": "exit code", "tcllib": "0",
            "bridge": "a timeout", "compat": []} in result["differences"]


@needs_tcllib
def test_both_runs_timed_out_is_not_agreement(tmp_path: Path) -> None:
    (tmp_path / "forever.tcl").write_text("puts start\nvwait forever\n")
    done = check("--timeout", "2", "forever.tcl", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    assert last == ("incomplete: the tcllib and bridge runs timed out, "
                    "so the runs cannot be compared")
    done = check("--json", "--timeout", "2", "forever.tcl", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert (result["agree"], result["timed_out"]) == (False, ["tcllib", "bridge"])


def test_without_tclsh_exit_2_with_install_command(tmp_path: Path) -> None:
    (tmp_path / "s.tcl").write_text("puts hi\n")
    no_tcl = {**os.environ, "PATH": str(tmp_path)}  # a PATH where no tclsh is found
    done = check("s.tcl", cwd=tmp_path, env=no_tcl)
    assert done.returncode == 2
    assert "tclsh is not installed" in done.stderr
    assert f"install it with: {INSTALL_COMMAND}" in done.stderr
    assert INSTALL_COMMAND == "apt-get install -y tcl tcllib tcl-tls"
    done = check("--json", "s.tcl", cwd=tmp_path, env=no_tcl)
    assert done.returncode == 2
    result = json.loads(done.stdout)
    assert result["agree"] is None and result["install"] == INSTALL_COMMAND


@needs_tcllib
def test_missing_script_exit_2(tmp_path: Path) -> None:
    done = check("nowhere.tcl", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert "cannot read the script nowhere.tcl" in done.stderr


def test_long_values_wrap_side_by_side() -> None:
    empty = ObservedRun(exit=0, stdout="", stderr="", sessions=[], messages=[])
    tcllib_value, bridge_value = "'" + "a" * 70 + "'", "'" + "b" * 50 + "'"
    result = CheckResult("s.tcl", [], empty, empty,
                         [Difference("stdout", "line 1", tcllib_value, bridge_value)])
    lines = render(result, width=60).splitlines()
    rows = lines[lines.index("1. standard output, line 1") + 2:-2]
    assert all(len(row) <= 60 for row in rows)
    left = "".join(row.split("|")[0].strip() for row in rows)
    right = "".join(row.split("|")[1].strip() for row in rows if "|" in row)
    assert (left, right) == (tcllib_value, bridge_value)
    assert len(rows) == 3  # 72 characters in columns of 26


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1", "soon"])
def test_a_timeout_that_cannot_work_is_refused(value: str, tmp_path: Path) -> None:
    (tmp_path / "s.tcl").write_text("puts hi\n")
    done = subprocess.run([sys.executable, "-m", "tclbridge", "check", "--timeout", value, "s.tcl"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.endswith("argument --timeout: expected a number of seconds greater than 0, "
                                f"not {value!r}\n")
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
