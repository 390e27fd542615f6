"""`tclbridge scan DIR`: which Tcl files use what of smtp/mime, and which of
those uses differ under the bridge (docs/COMPAT.md) or are not provided."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tclbridge import scan
from tests.support.hypothesis_runs import REPLAYABLE

REPO = Path(__file__).resolve().parent.parent

LEGACY = r"""#!/usr/bin/tclsh
# A legacy mailer with the forms scan must read. smtp::finalize is only named here.
package require -exact smtp 1.5.1
package require mime 1.7
namespace import ::smtp::sendmessage

set common [list -servers mail.example.com -ports 587]
proc notify {to body args} {
    set tok [mime::initialize -canonical text/plain -encoding quoted-printable \
        -header [list X-App notify] -string $body]
    mime::setheader $tok Subject "alert"
    # imported, with a literal option list spliced in
    sendmessage $tok {*}$::common -usetls 0 -username ops -password secret \
        -header [list To $to]
    eval [linsert $args 0 smtp::sendmessage $tok -maxsecs 30 -recipients $to]
    mime::finalize $tok
}
set raw [mime::initialize -file /var/mail/in.eml]
catch {mime::getContentType $raw} ct
set p [mime::initialize -string x -root $raw]
if {[llength [info commands ::smtp::talk]]} {
    ::smtp::talk $raw 300 NOOP
}
"""

# What LEGACY uses, worked out from the text above.
LEGACY_EXPECTED = {
    "path": "legacy.tcl",
    "packages": {"smtp": "1.5.1", "mime": "1.7"},
    "commands": {
        "mime::finalize": {"calls": 1, "lines": [16], "options": []},
        "mime::getContentType": {"calls": 1, "lines": [19], "options": []},
        "mime::initialize": {
            "calls": 3, "lines": [9, 18, 20],
            "options": ["-canonical", "-encoding", "-file", "-header", "-root", "-string"],
        },
        "mime::setheader": {"calls": 1, "lines": [11], "options": []},
        "smtp::sendmessage": {
            "calls": 2, "lines": [13, 15],
            "options": ["-header", "-maxsecs", "-password", "-ports", "-recipients", "-servers",
                        "-username", "-usetls"],
        },
        "smtp::talk": {"calls": 1, "lines": [22], "options": []},
    },
    "compat": {
        **{entry: ["smtp::sendmessage -password", "smtp::sendmessage -username"]
           for entry in ("auth-charset", "auth-hidden", "auth-mechanisms", "auth-plaintext")},
        "bare-cr": ["smtp::sendmessage"],
        "bcc-failure": ["smtp::sendmessage"],
        "body-error-no-dot": ["mime::initialize -file"],
        "command-injection": ["smtp::sendmessage -recipients"],
        "connect-error-text": ["smtp::sendmessage"],
        "count-past-eof": ["mime::initialize -root"],
        "cte-once": ["mime::initialize -encoding"],
        "header-injection": ["mime::initialize -header", "mime::setheader",
                             "smtp::sendmessage -header"],
        "lone-surrogate": ["smtp::sendmessage -recipients"],
        "maxsecs-number": ["smtp::sendmessage -maxsecs"],
        "package-version": ["package require (version)"],
        # -file without -canonical (line 18) and -string without it (line 20) parse.
        "parse-cr-headers": ["mime::initialize (parse)"],
        "parse-depth": ["mime::initialize (parse)"],
        "parse-encoding-scan": ["mime::initialize (parse) -file"],
        "file-and-string": ["mime::initialize (parse) -file"],
        "parse-failed-piece": ["mime::initialize (parse)"],
        "parse-shrinking-file": ["mime::initialize (parse) -file"],
        "parsed-header-injection": ["mime::initialize (parse)"],
        "qp-dot-line": ["mime::initialize -encoding"],
        "root-channel": ["mime::initialize -root"],
        "setheader-atomic": ["mime::setheader"],
        "maxsecs-body": ["smtp::sendmessage"],
        "reply-wait-whole": ["smtp::sendmessage"],
        "size-bytes": ["smtp::sendmessage"],
        # Line 15 keeps the default -usetls 1; line 13 names -usetls.
        "starttls-injection": [
            "smtp::sendmessage (STARTTLS, the default)", "smtp::sendmessage -usetls",
        ],
        "tls-verify": ["smtp::sendmessage (STARTTLS, the default)", "smtp::sendmessage -usetls"],
        "token-restored": ["smtp::sendmessage"],
        "utf8-commands": ["smtp::sendmessage -recipients"],
        "write-error-text": ["smtp::sendmessage"],
    },
    "unsupported": [
        {"line": 3, "feature": "package require -exact smtp 1.5.1",
         "reason": "the bridge provides smtp 1.5.2 and mime 1.7.2 only"},
        {"line": 19, "feature": "mime::getContentType",
         "reason": "a tcllib-internal proc; the bridge does not provide it"},
        {"line": 22, "feature": "smtp::talk",
         "reason": "a tcllib-internal proc; the bridge does not provide it"},
    ],
    # $args of the eval'd linsert is a proc argument: its options cannot be told.
    "not_literal": [{"command": "smtp::sendmessage", "line": 15}],
    "bypass": [],
}

SH_WRAPPER = """#!/bin/sh
# the next line restarts with tclsh \\
exec tclsh "$0" "$@"
package require smtp
set cmd [linsert $argv 0 smtp::sendmessage]
eval $cmd
"""


def run_scan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "scan", *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def plant(tmp_path: Path) -> Path:
    root = tmp_path / "scripts"
    (root / "sub").mkdir(parents=True)
    (root / "legacy.tcl").write_text(LEGACY)
    (root / "sub" / "wrapper").write_text(SH_WRAPPER)
    (root / "ui.tk").write_text("package require mime\nmime::parseaddress $a\n")
    (root / "dialog.exp").write_text("spawn x\nmime::uniqueID\n")
    # Not Tcl, or Tcl without smtp/mime: not listed.
    (root / "notes.txt").write_text("smtp::sendmessage $t -servers x\n")
    (root / "tool").write_text("#!/usr/bin/python3\n# smtp::sendmessage\n")
    (root / "plain.tcl").write_text("puts hello\n")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "old.tcl").write_text("package require smtp\n")
    return root


def test_compat_suite_lists_every_script_with_its_features() -> None:
    out = run_scan("--json", str(REPO / "compat_suite"))
    assert out.returncode == 0, out.stderr
    files = {f["path"]: f for f in json.loads(out.stdout)["files"]}
    # Other cases may be added at any time: compare with what is there now.
    cases = {str(p.relative_to(REPO / "compat_suite"))
             for p in (REPO / "compat_suite" / "cases").glob("*.tcl")}
    assert set(files) == cases
    for path, report in files.items():
        assert report["commands"] or report["packages"], path
    versions = files["cases/28_package_versions.tcl"]
    assert versions["packages"] == {"smtp": None, "mime": None} and versions["commands"] == {}
    text = run_scan(str(REPO / "compat_suite"))
    assert text.returncode == 0
    table_rows = {line.split()[0] for line in text.stdout.splitlines() if line.startswith("cases/")}
    assert table_rows == cases


def test_compat_suite_cases_read_right() -> None:
    # Options spliced from a variable set once with [list ...] are followed;
    # a foreach variable is not.
    case = REPO / "compat_suite" / "cases" / "20_option_errors.tcl"
    report = scan.analyse(case.read_text(), case.name).to_json()
    send = report["commands"]["smtp::sendmessage"]
    assert send["options"] == ["-ports", "-recipients", "-servers"]
    assert report["not_literal"] == [{"command": "smtp::sendmessage", "line": send["lines"][0]}]


def test_planted_files_give_exactly_the_expected_report(tmp_path: Path) -> None:
    out = run_scan("--json", str(plant(tmp_path)))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == {"root", "files", "summary"}
    files = {f["path"]: f for f in result["files"]}
    assert sorted(files) == ["dialog.exp", "legacy.tcl", "sub/wrapper", "ui.tk"]
    assert files["legacy.tcl"] == LEGACY_EXPECTED
    wrapper = files["sub/wrapper"]
    assert wrapper["commands"] == {"smtp::sendmessage": {"calls": 1, "lines": [5], "options": []}}
    assert wrapper["not_literal"] == [{"command": "smtp::sendmessage", "line": 5}]
    assert files["ui.tk"]["compat"] == {"parseaddress-depth": ["mime::parseaddress"]}
    assert files["ui.tk"]["unsupported"] == []
    assert result["summary"] == {
        "files": 4, "files_with_compat": 3, "files_with_unsupported": 1,
        "files_not_literal": 2, "files_with_bypass": 0,
        "commands": {"mime::finalize": 1, "mime::getContentType": 1, "mime::initialize": 1,
                     "mime::parseaddress": 1, "mime::setheader": 1, "mime::uniqueID": 1,
                     "smtp::sendmessage": 2, "smtp::talk": 1},
        "compat": {entry: (2 if entry in {"bare-cr", "bcc-failure", "connect-error-text",
                                          "size-bytes", "tls-verify", "token-restored",
                                          "write-error-text", "maxsecs-body",
                                          "reply-wait-whole", "starttls-injection"} else 1)
                   for entry in LEGACY_EXPECTED["compat"]}  # type: ignore[union-attr]
        | {"parseaddress-depth": 1},
    }


def test_text_report_and_summary_table(tmp_path: Path) -> None:
    out = run_scan(str(plant(tmp_path)))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert ("legacy.tcl\n    mime::finalize (1 call)\n    mime::getContentType (1 call)\n"
            "    mime::initialize (3 calls): -canonical -encoding -file -header -root -string\n"
            ) in text
    assert "    COMPAT tls-verify: smtp::sendmessage (STARTTLS, the default), " \
           "smtp::sendmessage -usetls\n" in text
    assert ("    unsupported (line 22): smtp::talk: a tcllib-internal proc; the bridge does not "
            "provide it\n") in text
    assert "    options not literal: smtp::sendmessage (line 15)\n" in text
    rows = [line.split() for line in text.splitlines()[-6:]]
    assert rows[0] == ["FILE", "SMTP", "MIME", "COMPAT", "UNSUPPORTED", "NOT", "LITERAL"]
    assert rows[1:5] == [
        ["dialog.exp", "0", "1", "0", "0", "0"],
        ["legacy.tcl", "3", "6", str(len(LEGACY_EXPECTED["compat"])), "3", "1"],
        # the sendmessage entries: plain (8) and STARTTLS by default (2)
        ["sub/wrapper", "1", "0", "10", "0", "1"],
        ["ui.tk", "0", "1", "1", "0", "0"],
    ]
    assert text.splitlines()[-1] == (
        "4 files use smtp/mime: 3 with COMPAT entries, 1 with unsupported uses, "
        "2 with options that are not literal")


def test_missing_directory_exit_2(tmp_path: Path) -> None:
    out = run_scan(str(tmp_path / "nothing"))
    assert out.returncode == 2
    assert "no such file or directory" in out.stdout


def test_every_mapped_entry_is_in_compat_md() -> None:
    table = (REPO / "docs" / "COMPAT.md").read_text()
    names = set(re.findall(r"^\| (?:<a id=\"[a-z0-9-]+\"></a>)?`([a-z0-9-]+)` \|", table,
                           re.MULTILINE))
    mapped = {entry for entries in scan.COMPAT_BY_FEATURE.values() for entry in entries}
    assert mapped <= names, mapped - names
    # ... and every entry is flagged for some use, so a script that can hit it is told.
    assert names <= mapped, names - mapped


def test_tcl_word_rules() -> None:
    source = (
        'set a "x [mime::getheader $t {To}] y" ;# smtp::talk in a comment\n'
        "set b {a {b c} d}\n"
        "foo \\\n  mime::uniqueID [list mime::finalize $t]\n"
        "# smtp::talk\n"
        "smtp::sendmessage $t {*}{-debug 1 -queue 0} \"-servers\" $h -ports ${p}\n"
        "::mime::initialize -canonical text/plain -string $arr(x) {*}$unknown\n"
        "eval [list smtp::sendmessage $t -atleastone 1]\n"
        "eval smtp::sendmessage $t {-client me}\n"
    )
    report = scan.analyse(source, "t.tcl").to_json()
    assert report["commands"] == {
        # The continued command starts on line 3; its words are on line 4.
        "mime::finalize": {"calls": 1, "lines": [4], "options": []},
        "mime::uniqueID": {"calls": 1, "lines": [4], "options": []},
        "mime::getheader": {"calls": 1, "lines": [1], "options": []},
        "mime::initialize": {"calls": 1, "lines": [7], "options": ["-canonical", "-string"]},
        "smtp::sendmessage": {"calls": 3, "lines": [6, 8, 9], "options": [
            "-atleastone", "-client", "-debug", "-ports", "-queue", "-servers"]},
    }
    # A reference to a command with options cannot show them; uniqueID has none.
    assert report["not_literal"] == [
        {"command": "mime::finalize", "line": 4}, {"command": "mime::initialize", "line": 7},
        # eval splices $t as a list: where the options start cannot be told.
        {"command": "smtp::sendmessage", "line": 9}]


@settings(max_examples=300, deadline=2000, **REPLAYABLE)
@given(st.text(alphabet='{}[]$"\\ \n;#*()-:smtpime_x', max_size=300))
def test_any_text_is_read_without_failing(text: str) -> None:
    report = scan.analyse(text, "fuzz.tcl")
    json.dumps(report.to_json())


def test_deep_nesting_is_bounded() -> None:
    for opener, closer in (("[", "]"), ("{", "}")):
        # Found at the depths scripts use; past the bound, no RecursionError or hang.
        for depth, found in ((20, True), (5000, False)):
            text = "set x " + opener * depth + "mime::uniqueID" + closer * depth + "\n"
            report = scan.analyse(text, "deep.tcl")
            assert ("mime::uniqueID" in report.commands()) is found


def test_unreadable_file_is_reported_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = plant(tmp_path)
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "legacy.tcl":  # the fault: root can read any file
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    warnings: list[str] = []
    reports = scan.scan(root, warn=warnings.append)
    assert [r.path for r in reports] == ["dialog.exp", "sub/wrapper", "ui.tk"]
    assert warnings == [f"tclbridge scan: cannot read {root / 'legacy.tcl'}: Permission denied"]


def test_child_interpreters_are_flagged() -> None:
    text = "package require smtp\ninterp cr kid\nkid eval {package require smtp}\n"
    assert scan.analyse(text, "kid.tcl").compat()["child-interp"] == ["interp create"]
    assert "child-interp" not in scan.analyse("package require smtp\ninterp children\n",
                                              "x.tcl").compat()


def test_info_nameofexecutable_is_flagged() -> None:
    text = "package require smtp\nexec [info nameofexecutable] other.tcl\n"
    assert scan.analyse(text, "x.tcl").compat()["nameofexecutable"] == ["info nameofexecutable"]


AROUND_THE_BRIDGE = r"""
set s [socket mail.example.com 25]
set l [socket -server accept 0]
set f [open "|/usr/sbin/sendmail -t -f $from" w]
set g [open [list |mutt -s hi $to] w]
set h [open "|sort" r]
exec -ignorestderr -- tclsh8.6 child.tcl
exec sendmail -oi x@y << $msg
exec tclbridge run child.tcl
exec ls
source $dir/smtp.tcl
source [file join $tcllib mime smtp.tcl]
source other.tcl
proc p {} { exec mailx -s hi a@b < f }
"""


def test_mail_around_the_bridge_is_flagged(tmp_path: Path) -> None:
    # Issue 12: paths that deliver without the bridge's smtp.
    report = scan.analyse(AROUND_THE_BRIDGE, "around.tcl")
    assert [(b["line"], b["feature"]) for b in report.bypass] == [
        (2, "socket"), (4, "open |sendmail"), (5, "open |mutt"), (7, "exec tclsh"),
        (8, "exec sendmail"), (11, "source smtp.tcl"), (12, "source smtp.tcl"),
        (14, "exec mailx")]
    assert "captured under run --capture" in str(report.bypass[1]["reason"])
    assert report.uses_smtp_or_mime  # listed although it never names smtp or mime
    (tmp_path / "around.tcl").write_text(AROUND_THE_BRIDGE)
    out = run_scan(str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "    around the bridge (line 2): socket: a raw socket: " in out.stdout
    assert out.stdout.splitlines()[-1].endswith(", 1 sending mail around the bridge")
    result = json.loads(run_scan("--json", str(tmp_path)).stdout)
    assert result["summary"]["files_with_bypass"] == 1
    assert len(result["files"][0]["bypass"]) == 8
