"""`tclbridge check` tells the truth: no tcllib is "cannot compare", not a
difference; an uncaught error is compared by its message; runs that both
failed say so; each difference a docs/COMPAT.md entry explains is labelled
with it. Against real tclsh + tcllib."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tclbridge.check import CHECK_COMPAT
from tclbridge.differential import message, normalize
from tclbridge.differential.causes import CAUSES, explain
from tclbridge.differential.compare import compare, diff, prepare
from tclbridge.differential.outcome import Delivered, ObservedRun
from tclbridge.differential.pairing import LOOKAHEAD, pairs
from tclbridge.differential.reference import INSTALL_COMMAND, find_tclsh, tcllib_missing
from tclbridge.differential.run import ServerSpec, run_against_servers
from tests.support import hidden_packages

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


@pytest.mark.skipif(not hidden_packages.AVAILABLE, reason=hidden_packages.WHY_NOT)
def test_without_tcllib_check_cannot_compare(tmp_path: Path) -> None:
    """tclsh is there, tcllib's directory is hidden by a bind mount: check says
    it cannot compare (exit 2, the install command), not four differences."""
    (tmp_path / "s.tcl").write_text(
        "package require smtp\npackage require mime\n"
        "smtp::sendmessage [mime::initialize -canonical text/plain -string hi] "
        "-servers mail.example.invalid -recipients a@example.com\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tclbridge", "check"]
    done = hidden_packages.run_hiding(hidden_packages.TCLLIB, [*command, "s.tcl"], cwd=tmp_path,
                                      env=env)
    assert (done.returncode, done.stdout) == (2, ""), done.stdout + done.stderr
    assert done.stderr == ("tclbridge check: tcllib's smtp/mime do not load in tclsh: can't find "
                           f"package smtp; install it with: {INSTALL_COMMAND}\n")
    done = hidden_packages.run_hiding(hidden_packages.TCLLIB, [*command, "--json", "s.tcl"],
                                      cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert (result["agree"], result["install"]) == (None, INSTALL_COMMAND)
    assert "can't find package smtp" in result["error"]


@pytest.mark.skipif(not hidden_packages.AVAILABLE, reason=hidden_packages.WHY_NOT)
def test_without_tcl_tls_check_cannot_compare(tmp_path: Path) -> None:
    """tcllib is there but tcl-tls is not: tcllib would stay in plain text
    where check's server offers STARTTLS, so every session would differ;
    check says it cannot compare (exit 2, the install command)."""
    (tmp_path / "s.tcl").write_text("package require smtp\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = hidden_packages.run_hiding(
        hidden_packages.TCL_TLS, [sys.executable, "-m", "tclbridge", "check", "s.tcl"],
        cwd=tmp_path, env=env)
    assert (done.returncode, done.stdout) == (2, ""), done.stdout + done.stderr
    assert done.stderr == ("tclbridge check: tcl-tls does not load in tclsh (tcllib needs it for "
                           f"TLS): can't find package tls; install it with: {INSTALL_COMMAND}\n")


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
         "bridge": "'bridge broke\\nsecond line'", "compat": []}]
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
         "tcllib": "1 (uncaught error: 'only tcllib fails')", "bridge": "0", "compat": []}]


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


# -- known causes ------------------------------------------------------------------------


def _by_where(result: dict) -> dict[str, list[str]]:
    return {d["where"]: [c["name"] for c in d["compat"]] for d in result["differences"]}


@needs_tcllib
def test_token_restored_labelled(tmp_path: Path) -> None:
    code, result = check_json("""package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "Sent twice.\\n"]
mime::setheader $tok Subject "Twice"
foreach n {1 2} {
    smtp::sendmessage $tok -servers mail.example.invalid -originator a@example.com \\
        -header {To b@example.com}
}
""", tmp_path)
    assert code == 1
    # tcllib's second message repeats To and From; nothing else differs.
    assert _by_where(result) == {"message 2: header line 5": ["token-restored"]}
    assert result["differences"][0]["tcllib"] == "'To: b@example.com'; 'From: a@example.com'"
    assert result["compat"] == ["token-restored"]
    done = check("s.tcl", cwd=tmp_path)
    lines = done.stdout.splitlines()
    heading = lines.index("1. message content, message 2: header line 5")
    assert lines[heading + 1] == ("   — COMPAT token-restored: tcllib leaves the headers it added "
                                  "on the token")
    assert lines[-1] == ("differ: 1 difference (1 in message content); 1 explained by "
                         "tclbridge help compat (token-restored)")


@needs_tcllib
def test_header_injection_labelled_with_what_it_prevented(tmp_path: Path) -> None:
    """The refusal, and the session and message tcllib made for it, are
    labelled; the send after it lines up (no shifted differences)."""
    code, result = check_json("""package require smtp
package require mime
proc send {subject} {
    set tok [mime::initialize -canonical text/plain -string "Hello.\\n"]
    smtp::sendmessage $tok -servers mail.example.invalid -originator a@example.com \\
        -recipients b@example.com -header [list Subject $subject]
}
puts "injected: [catch {send "hi\\nBcc: victim@example.net"} result] $result"
send fine
puts done
""", tmp_path)
    assert code == 1
    assert _by_where(result) == {
        "line 1": ["header-injection"],
        "number of SMTP sessions": ["header-injection"],
        # The two sessions' commands are the same: either is the missing one.
        "session 2": ["header-injection"],
        "number of delivered messages": ["header-injection"],
        "message 1": ["header-injection"],
    }
    line = next(d for d in result["differences"] if d["where"] == "line 1")
    assert "(header injection refused)" in line["bridge"]


@needs_tcllib
def test_package_version_and_nameofexecutable_labelled(tmp_path: Path) -> None:
    code, result = check_json("""puts "smtp [package require smtp] mime [package require mime]"
puts [file tail [info nameofexecutable]]
puts [info nameofexecutable]
""", tmp_path)
    assert code == 1
    assert _by_where(result) == {"line 1": ["package-version"], "line 2": ["nameofexecutable"],
                                 "line 3": ["nameofexecutable"]}


@needs_tcllib
def test_child_interp_labelled(tmp_path: Path) -> None:
    """A stream entry: what the bridge prints for smtp in a child interpreter."""
    code, result = check_json("""interp create c
set code [catch {c eval {package require smtp}} result]
puts "child: $code $result"
""", tmp_path)
    assert code == 1
    assert _by_where(result) == {"line 1": ["child-interp"]}


@needs_tcllib
def test_connect_error_text_labelled(tmp_path: Path) -> None:
    """check's server always answers, so a refused connection is compared the
    way the compat suite does: each run against a port nobody listens on."""
    script = tmp_path / "dead.tcl"
    script.write_text("""package require smtp
package require mime
lassign $argv host
set l [socket -server {apply {{c a p} {close $c}}} -myaddr $host 0]
set dead [lindex [fconfigure $l -sockname] 2]
close $l
set code [catch {smtp::sendmessage [mime::initialize -canonical text/plain -string hi] \\
    -servers $host -ports $dead -recipients to@example.com} result]
puts "$code $result"
""")
    assert TCLSH is not None
    runs = [run_against_servers(lambda servers, c=command: [*c, str(script), servers[0].host],
                                [ServerSpec()], timeout=60)
            for command in ([TCLSH], [sys.executable, "-m", "tclbridge", "run"])]
    differences = explain(*runs, compare(*runs, compat=CHECK_COMPAT), compat=CHECK_COMPAT)
    assert [(d.where, d.expected, d.actual, d.causes) for d in differences] == [
        ("line 1", "'1 error reading \"sock<ID>\": socket is not connected\\n'",
         "\"1 couldn't open socket: connection refused\\n\"", ("connect-error-text",))]


@needs_tcllib
def test_unexplained_difference_has_no_label(tmp_path: Path) -> None:
    code, result = check_json(f"""package require smtp
puts [expr {{{BRIDGE} ? "bridge" : "tcllib"}}]
""", tmp_path)
    assert code == 1
    assert _by_where(result) == {"line 1": []}
    assert result["compat"] == []


# -- the table and the docs --------------------------------------------------------------


def _compat_rows() -> list[str]:
    text = (REPO / "docs" / "COMPAT.md").read_text()
    return re.findall(r"^\| (?:<a id=\"[^\"]+\"></a>)?`([a-z0-9-]+)` \|", text, re.MULTILINE)


def test_every_compat_entry_has_a_row_in_the_table() -> None:
    rows = _compat_rows()
    assert len(rows) >= 40
    assert sorted(rows) == sorted(cause.name for cause in CAUSES)
    for cause in CAUSES:
        assert (cause.recognise is None) == bool(cause.unlabelled), cause.name
        assert "\n" not in cause.reason and len(cause.label()) < 120, cause.name


def test_docs_link_every_label_to_its_compat_entry() -> None:
    compat = (REPO / "docs" / "COMPAT.md").read_text()
    readme = (REPO / "README.md").read_text()
    for cause in CAUSES:
        assert f'| <a id="{cause.name}"></a>`{cause.name}` |' in compat, cause.name
        if cause.recognise is not None:
            assert f"[`{cause.name}`](docs/COMPAT.md#{cause.name})" in readme, cause.name
    assert "Why is my mail different from tcllib's?" in readme + compat


def test_a_session_only_tcllib_made_is_one_difference() -> None:
    """Sessions and messages are paired by content: one the bridge never made
    (it refused before connecting) is one difference, not a shift of the rest."""
    def outcome(*recipients: str) -> ObservedRun:
        return ObservedRun(
            exit=0, stdout="", stderr="",
            sessions=[["EHLO <CLIENT>", "MAIL FROM:<a@x.y>", f"RCPT TO:<{r}>", "DATA", "QUIT"]
                      for r in recipients],
            messages=[Delivered("a@x.y", [r], [], f"To: {r}\r\n\r\nhi\r\n".encode())
                      for r in recipients])

    found = compare(outcome("evil@x.y", "b@x.y", "c@x.y"), outcome("b@x.y", "c@x.y"))
    assert [(d.aspect, d.where, d.actual) for d in found] == [
        ("commands", "number of SMTP sessions", "2"),
        ("commands", "session 1", "nothing (missing)"),
        ("envelope", "number of delivered messages", "2"),
        ("envelope", "message 1", "nothing (missing)"),
    ]
    assert found[1].expected == ("'EHLO <CLIENT>'; 'MAIL FROM:<a@x.y>'; 'RCPT TO:<evil@x.y>'; "
                                 "'DATA'; 'QUIT'")


def test_pairing_in_order_with_unequal_items_by_position() -> None:
    """Equal items pair in order; between them the others pair by position,
    the rest of the longer side unpaired; an equal item further ahead than
    pairing.LOOKAHEAD is a coincidence (was: paired, calling every item
    before it in both runs missing)."""
    assert pairs(list("abXcd"), list("abcd")) == [(0, 0), (1, 1), (2, None), (3, 2), (4, 3)]
    assert pairs(list("abcd"), list("Yabcd")) == [(None, 0), (0, 1), (1, 2), (2, 3), (3, 4)]
    assert pairs(list("aXYd"), list("aPQRd")) == [(0, 0), (1, 1), (2, 2), (None, 3), (3, 4)]
    assert pairs([], list("ab")) == [(None, 0), (None, 1)]
    far = LOOKAHEAD + 10
    tcllib = ["z", *(f"t{k}" for k in range(far))]
    bridge = [*(f"b{k}" for k in range(far)), "z"]
    assert pairs(tcllib, bridge) == [(k, k) for k in range(far + 1)]


def test_messages_are_paired_by_a_digest_not_a_copy() -> None:
    """Each message is known by a 32-byte digest when runs are paired: the
    key was repr() of the parsed message, a copy of the whole body (two runs
    delivering the same 5 MB message: 36 MB at peak)."""
    body = (b"x" * 75 + b"\r\n") * 65_000
    data = (b"Subject: big\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(body).replace(b"\n", b"\r\n"))
    run = ObservedRun(0, "", "", [["EHLO <CLIENT>"]], [Delivered("a@x.y", ["b@x.y"], [], data)])
    changed = replace(run, messages=[replace(run.messages[0], data=data.replace(b"big", b"BIG"))])
    expected, actual = prepare(run, changed)
    tracemalloc.start()
    try:
        found = diff(expected, actual)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(d.where, d.expected, d.actual) for d in found] == [
        ("message 1: header line 1", "'Subject: big'", "'Subject: BIG'")]
    assert peak < 1_000_000, peak


def test_labels_from_a_copy_of_the_parsed_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """explain applies token-restored to a copy of tcllib's parsed messages:
    check parses each delivered message once (the comparison was made again
    from the raw runs for the label: 10 parses of these 4 messages), the
    label is found, and what check compared is left as it was."""
    parsed: list[bytes] = []

    def parse_message(data: bytes, masker: Any) -> Any:
        parsed.append(data)
        return message.parse_message(data, masker)
    monkeypatch.setattr(normalize, "parse_message", parse_message)

    def outcome(*extra: bytes) -> ObservedRun:
        return ObservedRun(0, "", "", [["EHLO <CLIENT>"]] * 2, [
            Delivered("a@x.y", ["b@x.y"], [], b"To: b@x.y\r\n" + headers + b"\r\nhi\r\n")
            for headers in (b"", *extra)])

    tcllib, bridge = outcome(b"To: b@x.y\r\n"), outcome(b"")
    prepared = prepare(tcllib, bridge)
    before = repr(prepared)
    differences = explain(tcllib, bridge, diff(*prepared), prepared=prepared)
    assert [(d.where, d.causes) for d in differences] == [
        ("message 2: header line 2", ("token-restored",))]
    assert len(parsed) == 4
    assert repr(prepared) == before
    again = explain(tcllib, bridge, compare(tcllib, bridge))  # made by explain itself
    assert [(d.where, d.causes) for d in again] == [(d.where, d.causes) for d in differences]


NO_SERVER = """package require smtp
package require mime
lassign $argv host port
set tok [mime::initialize -canonical text/plain -string hi]
puts [catch {smtp::sendmessage $tok -servers $host -ports $port -recipients a@example.com} r]
puts $r
puts $::errorCode
"""


@needs_tcllib
def test_a_script_naming_no_server_fails_as_under_tcllib(tmp_path: Path) -> None:
    """An empty -servers: tcllib connects nowhere (check's redirection never
    fires) and fails; `run --server` (and so check's bridge run) does the same
    instead of sending to the given server."""
    code, result = check_json(NO_SERVER, tmp_path)
    assert (code, result["agree"]) == (0, True), result["differences"]
    assert result["runs"]["bridge"]["sessions"] == 0
    assert TCLSH is not None
    tclsh = subprocess.run([TCLSH, "s.tcl"], capture_output=True, text=True, cwd=tmp_path,
                           timeout=60)
    bridge = subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", "--server", "127.0.0.1:9", "s.tcl"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert tclsh.stdout == "1\ncan't read \"code\": no such variable\nTCL READ VARNAME\n"
    assert bridge.stdout == tclsh.stdout


@needs_tcllib
def test_printed_message_and_neighbouring_lines_labelled(tmp_path: Path) -> None:
    """A message the script prints shows tcllib's second Content-Transfer-Encoding
    (cte-once, applied to delivered mail only); the lines printed with an
    internal option's result change with it and get its label."""
    code, result = check_json("""package require mime
set tok [mime::initialize -canonical text/plain -encoding quoted-printable -string "hi\\n"]
puts [string map {"\\r" ""} [mime::buildmessage $tok]]
set code [catch {mime::initialize -canonical text/plain -string x -lineslist {a b}} r]
puts "code=$code"
puts "result: [regsub -all {::mime::[0-9]+} $r ::mime::N]"
""", tmp_path)
    assert code == 1
    labels = _by_where(result)
    cte = [where for where, names in labels.items() if names == ["cte-once"]]
    assert len(cte) == 1 and "Content-Transfer-Encoding" in next(
        d["tcllib"] for d in result["differences"] if d["where"] == cte[0])
    rest = {where: names for where, names in labels.items() if where not in cte}
    assert len(rest) == 2 and all(names == ["internal-options"] for names in rest.values())
    assert any("code=0" in d["tcllib"] and "code=1" in d["bridge"]
               for d in result["differences"])


@needs_tcllib
def test_header_names_left_on_a_token_labelled(tmp_path: Path) -> None:
    """A token's header names printed after a refused setheader (tcllib keeps
    the refused name: setheader-atomic) and after a send (tcllib keeps the
    headers it added: token-restored)."""
    code, result = check_json("""package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "hi\\n"]
catch {mime::setheader $tok Content-Type text/html}
puts "after setheader: [mime::getheader $tok -names]"
set tok [mime::initialize -canonical text/plain -string "hi\\n"]
smtp::sendmessage $tok -servers mail.example.invalid -originator a@example.com \\
    -header {To b@example.com}

puts "after send: [mime::getheader $tok -names]"
""", tmp_path)
    assert code == 1
    assert _by_where(result) == {"line 1": ["setheader-atomic"], "line 2": ["token-restored"]}


@needs_tcllib
def test_only_companion_lines_share_a_label(tmp_path: Path) -> None:
    """Lines next to a labelled one are labelled only when they are part of
    the same outcome (the catch code before a labelled result, the errorCode
    after it); lines that differ for reasons of their own stay unexplained,
    in the summary and in the fleet's counts. (Before: all six lines were
    labelled with both entries, "6 explained", and the file counted as
    differing only by COMPAT entries.)"""
    code, result = check_json(f"""package require smtp
package require mime
puts "smtp [package present smtp]"
puts [lsort [info commands ::smtp::*]]
puts "mail sent to [llength [info procs ::mime::*]] helpers"
set code [catch {{mime::initialize -canonical text/plain -string x -lineslist {{a b}}}} r]
puts $code
puts [regsub -all {{::mime::[0-9]+}} $r ::mime::N]
puts [expr {{$code ? $::errorCode : "built"}}]
puts "code=[expr {{{BRIDGE} ? 1 : 0}}] [expr {{{BRIDGE} ? "bridge" : "tcllib"}}]"
""", tmp_path)
    assert code == 1
    assert _by_where(result) == {
        "line 1": ["package-version"],
        "line 2": [],  # ::smtp:: commands: the bridge defines fewer
        "line 3": [],  # a count of ::mime:: procs
        "line 4": ["internal-options"],  # catch's code, alone on its line
        "line 5": ["internal-options"],  # "unknown option -lineslist"
        "line 6": ["internal-options"],  # the errorCode where tcllib printed "built"
        "line 7": [],  # more differs than a code
    }
    assert result["summary"] == ("differ: 7 differences (7 in standard output); 4 explained by "
                                 "tclbridge help compat (package-version, internal-options)")
    done = check("--json", "--each", "s.tcl", cwd=tmp_path)
    fleet = json.loads(done.stdout)
    assert (done.returncode, fleet["totals"]["differs_only_by_compat"]) == (1, 0)
    assert fleet["files"][0]["check"]["summary"] == result["summary"]


@needs_tcllib
def test_header_names_left_only_for_a_list_of_header_names(tmp_path: Path) -> None:
    """token-restored's "names tcllib added" is a printed list of header names:
    not a sentence or a message body where tcllib's side has the word "to"
    more. (Before: all three were labelled token-restored.)"""
    code, result = check_json(f"""package require smtp
package require mime
set text [expr {{{BRIDGE} ? "mail sent bob" : "mail sent to bob"}}]
puts $text
puts "names: [expr {{{BRIDGE} ? "Subject Date" : "Subject To Date"}}]"
smtp::sendmessage [mime::initialize -canonical text/plain -string $text] \\
    -servers mail.example.invalid -originator a@example.com -recipients b@example.com
""", tmp_path)
    assert code == 1
    assert _by_where(result) == {"line 1": [], "line 2": ["token-restored"],
                                 "message 1: decoded body line 1": []}


@needs_tcllib
def test_what_tcllib_sent_of_non_ascii_addresses_is_labelled(tmp_path: Path) -> None:
    """Without SMTPUTF8 (check's server offers none) tcllib sends each
    character's low byte (jürgen as Latin-1, 用户 as "(7"), the bridge refuses:
    the commands, envelopes and messages that differ for it all say
    utf8-commands."""
    code, result = check_json("""package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "hi\\n"]
foreach to [list "ok@example.com, j\\u00fcrgen@example.com, \\u7528\\u6237@example.com" \\
        "b@example.com"] from {a@example.com "\\u00b1\\u00b2@example.com"} {
    set code [catch {smtp::sendmessage $tok -servers localhost -originator $from \\
        -recipients $to -atleastone 1} result]
    puts "code=$code $result"
}
""", tmp_path)
    assert code == 1
    unexplained = [d for d in result["differences"] if not d["compat"]]
    assert unexplained == [], unexplained
    aspects = {d["aspect"] for d in result["differences"]}
    assert {"commands", "envelope"} <= aspects
    assert {c["name"] for d in result["differences"] for c in d["compat"]} == {"utf8-commands"}


@needs_tcllib
def test_what_tcllib_wrote_after_a_failed_body_is_labelled(tmp_path: Path) -> None:
    """An attachment that vanishes while DATA is written: tcllib ends the data
    and goes on (RSET, QUIT); the bridge drops the connection before the dot.
    The commands only tcllib wrote say body-error-no-dot too."""
    (tmp_path / "att.txt").write_text("attachment\n")
    code, result = check_json("""package require smtp
package require mime
set att [mime::initialize -canonical text/plain -file att.txt]
set tok [mime::initialize -canonical multipart/mixed -parts [list $att]]
file delete att.txt
puts [catch {smtp::sendmessage $tok -servers localhost -recipients b@example.com} r]
""", tmp_path)
    assert code == 1
    assert [d for d in result["differences"] if not d["compat"]] == []
    assert any(d["aspect"] == "commands" for d in result["differences"])
