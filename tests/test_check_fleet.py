"""`tclbridge check DIR...`: a whole fleet of scripts checked a few at a time
under real tclsh + tcllib and the bridge, a table, a Markdown report, --json."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tclbridge.differential.reference import find_tclsh, tcllib_missing
from tests.support import unprivileged
from tests.support.hermetic import outside_server

REPO = Path(__file__).resolve().parent.parent
TCLSH = find_tclsh()
pytestmark = pytest.mark.skipif(tcllib_missing(TCLSH) is not None,
                                reason=tcllib_missing(TCLSH) or "")
PASSWORD = "Fleet5ecretPass"


def check(*args: str, cwd: Path, timeout: float = 120,
          **options: Any) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "check", *args], capture_output=True, text=True,
        cwd=cwd, timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO)}, **options)


def barrier(markers: Path, count: int, wait_ms: int) -> str:
    """Tcl that waits until `count` scripts of the same implementation have
    started, or fails: only files checked at the same time get past it."""
    return f"""
set impl [expr {{[namespace exists ::tclbridge] ? "bridge" : "tcllib"}}]
set markers [file join {{{markers}}} $impl]
file mkdir $markers
close [open [file join $markers [file tail [info script]]] w]
set deadline [expr {{[clock milliseconds] + {wait_ms}}}]
while {{[llength [glob -nocomplain -directory $markers *]] < {count}}} {{
    if {{[clock milliseconds] > $deadline}} {{ error "ran alone" }}
    after 20
}}
"""


def rows(lines: list[str]) -> dict[str, tuple[str, str]]:
    """The table's rows: file -> (verdict, detail)."""
    found = {}
    for line in lines[1:]:
        cells = re.split(r" {2,}", line, maxsplit=2)
        found[cells[0]] = (cells[1], cells[2] if len(cells) > 2 else "")
    return found


def test_a_directory_checked_in_parallel_with_table_and_report(tmp_path: Path) -> None:
    fleet, markers = tmp_path / "fleet", tmp_path / "markers"
    (fleet / "sub").mkdir(parents=True)
    wait = barrier(markers, 3, 8000)
    (fleet / "same.tcl").write_text(wait + """package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "fleet\\n"]
smtp::sendmessage $tok -servers mail.example.invalid -recipients same@example.com
puts sent
""")
    (fleet / "differs.tcl").write_text(wait + f"""package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "twice\\n"]
foreach n {{1 2}} {{
    smtp::sendmessage $tok -servers mail.example.invalid -originator a@example.com \\
        -header {{To b@example.com}} -username ops -password {PASSWORD}
}}
""")
    (fleet / "sub" / "fails.tcl").write_text(wait + "set f [open /nonexistent/fleet.conf]\n")
    (fleet / "hang.tcl").write_text(
        "if {[namespace exists ::tclbridge]} {vwait forever}\nputs done\n")
    # Not checked: a link to a directory (not entered: fails.tcl once), a hidden
    # directory, a file that is not .tcl.
    (fleet / "again").symlink_to(fleet / "sub", target_is_directory=True)
    (fleet / ".hidden").mkdir()
    (fleet / ".hidden" / "x.tcl").write_text("puts hidden\n")
    (fleet / "notes.txt").write_text("puts notes\n")

    done = check("--jobs", "4", "--timeout", "10", "--report", "report.md", "fleet",
                 cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["FILE", "VERDICT", "DETAIL"]
    table = rows(lines[:lines.index("")])
    assert list(table) == ["fleet/differs.tcl", "fleet/hang.tcl", "fleet/same.tcl",
                           "fleet/sub/fails.tcl"]
    # Past the barriers: the three files ran at the same time.
    assert table["fleet/same.tcl"] == ("same", "")
    assert re.fullmatch(r"\d+ differences?; COMPAT token-restored",
                        table["fleet/differs.tcl"][1]), table
    assert table["fleet/differs.tcl"][0] == "differs"
    assert table["fleet/sub/fails.tcl"] == (
        "same", "both runs failed: couldn't open \"/nonexistent/fleet.conf\": no such file "
                "or directory")
    assert table["fleet/hang.tcl"] == ("failed to run", "bridge run timed out")
    assert lines[-1] == ("4 files: 2 same (1 of them failed in both runs), 1 differs "
                         "(1 only by COMPAT entries), 1 failed to run")

    report = (tmp_path / "report.md").read_text()
    assert "| `fleet/same.tcl` | same |  |" in report
    assert "| `fleet/hang.tcl` | failed to run | bridge run timed out |" in report
    assert "\n4 files: 2 same" in report
    sections = dict(re.findall(r"^## `([^`]+)`\n(.*?)(?=^## |\Z)", report, re.M | re.S))
    assert list(sections) == list(table)
    differs = sections["fleet/differs.tcl"]
    assert differs.startswith("\n**differs**: ")
    assert ("— COMPAT `token-restored`: tcllib leaves the "
            "headers it added on the token") in differs
    assert "'To: b@example.com'; 'From: a@example.com'" in differs
    # tclbridge scan's findings for that file.
    assert "What `tclbridge scan` finds in it:" in differs
    assert ("smtp::sendmessage (1 call): -header -originator -password -servers -username"
            in differs)
    assert "COMPAT auth-plaintext: smtp::sendmessage -password" in differs
    assert "**failed to run**: the bridge run timed out" in sections["fleet/hang.tcl"]
    assert "**same**, but both runs failed: couldn't open" in sections["fleet/sub/fails.tcl"]
    for output in (report, done.stdout, done.stderr):
        assert PASSWORD not in output


def test_each_path_json_and_exit_2_when_none_differs(tmp_path: Path) -> None:
    """--each: every word is a path (a file named explicitly is checked whatever
    its name); a path that does not exist is a row, not the end of the run;
    nothing differs but one could not be compared: exit 2."""
    (tmp_path / "one.tcl").write_text("puts one\n")
    (tmp_path / "two.txt").write_text("puts two\n")
    done = check("--json", "--each", "one.tcl", "two.txt", "gone.tcl", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert [(f["path"], f["verdict"], f["problem"]) for f in result["files"]] == [
        ("one.tcl", "same", None), ("two.txt", "same", None),
        ("gone.tcl", "failed to run", "no such file or directory")]
    assert result["files"][0]["check"]["runs"]["tcllib"]["exit"] == 0
    assert result["totals"] == {"files": 3, "same": 2, "both_failed": 0, "differs": 0,
                                "differs_only_by_compat": 0, "failed": 1}
    assert result["exit"] == 2


def test_single_script_keeps_its_arguments(tmp_path: Path) -> None:
    """A file first: the rest are its arguments, even a directory's name."""
    (tmp_path / "d").mkdir()
    (tmp_path / "args.tcl").write_text("puts $argv\n")
    done = check("--json", "args.tcl", "d", "x", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["script"] == "args.tcl" and result["args"] == ["d", "x"]
    # A report for the one script, with its arguments; one that cannot be
    # written is refused before anything runs.
    done = check("--report", "r.md", "args.tcl", "d", "x", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = (tmp_path / "r.md").read_text()
    assert "| `args.tcl` | same |  |" in report and "Arguments: `d x`" in report
    done = check("--report", "nowhere/r.md", "args.tcl", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert "cannot write the report nowhere/r.md: No such file or directory" in done.stderr
    # A directory first: options after the paths are refused, not taken for paths.
    done = check("d", "--json", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert "options go before the paths: --json" in done.stderr


def test_files_checked_together_keep_to_their_own_servers(tmp_path: Path) -> None:
    """Two files at once, each sending through smtp and through sendmail: each
    run's server gets that run's two messages only, and nothing reaches a
    server outside the check's network namespace."""
    markers = tmp_path / "markers"
    with outside_server() as outside:
        for name in ("alpha", "beta"):
            (tmp_path / f"{name}.tcl").write_text(barrier(markers, 2, 8000) + f"""
package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "from {name}\\n"]
smtp::sendmessage $tok -servers mail.example.invalid -recipients {name}@example.com
exec sendmail -t << "To: {name}-piped@example.com\\nSubject: {name}\\n\\npiped\\n"
puts [catch {{socket 127.0.0.1 {outside.port}}}]
""")
        done = check("--json", "--jobs", "2", "--each", "alpha.tcl", "beta.tcl", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for entry in json.loads(done.stdout)["files"]:
        runs = entry["check"]["runs"]
        assert entry["verdict"] == "same", entry["check"]["differences"]
        assert runs["tcllib"] == runs["bridge"] == {"exit": 0, "error": None, "sessions": 2,
                                                    "messages": 2}
    assert outside.sessions == []


def test_hostile_file_names_keep_the_table_and_report_in_shape() -> None:
    """A file name with a newline, a "|" and backticks stays on its row and in
    its heading."""
    from tclbridge import fleet

    name = "a|b``c\nd.tcl"
    entries = [fleet.Entry(name, problem="no such file or directory"), fleet.Entry("ok.tcl",
               problem="cannot read: Permission denied")]
    table = fleet.table(entries)
    assert len(table) == 3 and table[1].startswith("a|b``c\\x0ad.tcl  failed to run")
    report = fleet.markdown_report(entries, timeout=5).splitlines()
    assert "| ``` a\\|b``c\\x0ad.tcl ``` | failed to run | no such file or directory |" in report
    assert "## ``` a|b``c\\x0ad.tcl ```" in report


def test_a_fleet_name_with_a_c1_control_or_undecodable_bytes_stays_off_the_terminal() -> None:
    from tclbridge import fleet

    names = ["csi\u009b2J.tcl", os.fsdecode(b"bad\xff.tcl")]
    entries = [fleet.Entry(name, problem="cannot read: Permission denied") for name in names]
    table = fleet.table(entries)
    assert [row.split("  ")[0] for row in table[1:]] == ["csi\\x9b2J.tcl", "bad\\xff.tcl"]
    report = fleet.markdown_report(entries, timeout=5)
    report.encode("utf-8")  # raised UnicodeEncodeError on a surrogate
    assert "## `bad\\xff.tcl`" in report and "\u009b" not in report


def test_a_fleet_detail_is_escaped_too() -> None:
    from tclbridge import fleet

    undecodable = os.fsdecode(b"n\xff")
    entry = fleet.Entry("x.tcl", problem=f"could not compare: OSError: {undecodable}\u009b2J")
    assert fleet.table([entry])[1].endswith("could not compare: OSError: n\\xff\\x9b2J")


def test_undecodable_and_c1_file_names_in_a_real_fleet_run(tmp_path: Path) -> None:
    """The whole fleet runs, then the table, the progress lines and the
    report show each name escaped (a surrogate made the report raise
    UnicodeEncodeError after every file had run: exit 70, no report)."""
    fleet_dir = tmp_path / "fleet"
    fleet_dir.mkdir()
    for name in ("csi\u009b2J.tcl".encode(), b"bad\xff.tcl"):
        (fleet_dir / os.fsdecode(name)).write_text("puts ok\n")
    done = subprocess.run(
        [sys.executable, "-m", "tclbridge", "check", "--timeout", "20", "--report", "r.md",
         "fleet"], capture_output=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    out = done.stdout.decode()  # strict: nothing but UTF-8 reached it
    assert [line.split()[0] for line in out.splitlines()[1:3]] == [
        "fleet/bad\\xff.tcl", "fleet/csi\\x9b2J.tcl"]
    for output in (done.stdout, done.stderr):
        assert b"\xc2\x9b" not in output and b"\xff" not in output
    report = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "## `fleet/bad\\xff.tcl`" in report and "## `fleet/csi\\x9b2J.tcl`" in report


# -- which files ------------------------------------------------------------------------


def json_rows(stdout: str) -> dict[str, tuple[str, str | None]]:
    return {f["path"]: (f["verdict"], f["problem"]) for f in json.loads(stdout)["files"]}


def test_a_fifo_is_a_row_not_a_hang(tmp_path: Path) -> None:
    """A FIFO named a.tcl in the fleet, and one named on the command line:
    each a row, never opened (reading one waited for a writer forever,
    before any timeout applied)."""
    (tmp_path / "fleet").mkdir()
    (tmp_path / "fleet" / "ok.tcl").write_text("puts ok\n")
    os.mkfifo(tmp_path / "fleet" / "a.tcl")
    os.mkfifo(tmp_path / "named.tcl")
    done = check("--json", "--timeout", "20", "--each", "fleet", "named.tcl", cwd=tmp_path,
                 timeout=90)
    assert done.returncode == 2, done.stdout + done.stderr
    assert json_rows(done.stdout) == {
        "fleet/a.tcl": ("failed to run", "not a regular file (a FIFO)"),
        "fleet/ok.tcl": ("same", None),
        "named.tcl": ("failed to run", "not a regular file (a FIFO)"),
    }


def test_a_fifo_put_in_a_files_place_after_discovery_is_not_waited_for(tmp_path: Path) -> None:
    from tclbridge import fleet

    path = tmp_path / "swapped.tcl"
    path.write_text("puts ok\n")
    [entry] = fleet.discover([str(path)])
    assert entry.problem is None
    path.unlink()
    os.mkfifo(path)
    outcome: list[BaseException | None] = []

    def scan() -> None:
        try:
            fleet.scan_file(entry)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=scan, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # it waits for a writer: give it one, then fail
        with open(path, "wb"):
            pass
        pytest.fail("the scan opened the FIFO and waited for a writer")
    assert [str(e) for e in outcome] == ["[Errno 22] not a regular file (a FIFO)"]


def _address_space(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_link_to_a_device_is_a_row_not_a_read_to_the_end(tmp_path: Path) -> None:
    """b.tcl -> /dev/zero was read until memory ran out (here: MemoryError
    under a 2 GB address-space limit, exit 70); a link to a regular file is
    still checked, a dangling one is a row."""
    (tmp_path / "fleet").mkdir()
    (tmp_path / "real.tcl").write_text("puts linked\n")
    (tmp_path / "fleet" / "b.tcl").symlink_to("/dev/zero")
    (tmp_path / "fleet" / "c.tcl").symlink_to(tmp_path / "real.tcl")
    (tmp_path / "fleet" / "d.tcl").symlink_to(tmp_path / "gone.tcl")
    done = check("--json", "--timeout", "20", "fleet", cwd=tmp_path, timeout=90,
                 preexec_fn=lambda: _address_space(2 << 30))
    assert done.returncode == 2, done.stdout + done.stderr
    assert json_rows(done.stdout) == {
        "fleet/b.tcl": ("failed to run", "not a regular file (a character device)"),
        "fleet/c.tcl": ("same", None),
        "fleet/d.tcl": ("failed to run", "no such file or directory"),
    }


def test_a_file_over_the_scan_limit_is_run_but_not_scanned(tmp_path: Path) -> None:
    """The scan reads 4 MiB at most (it read the whole file, whatever its size)."""
    comment = "# " + "x" * 1000 + "\n"
    big = comment * 5000 + "package require smtp\nputs ok\n"  # 5 MB
    (tmp_path / "big.tcl").write_text(big)
    (tmp_path / "small.tcl").write_text("package require smtp\nputs ok\n")
    done = check("--json", "--report", "r.md", "--timeout", "30", "--each", "big.tcl",
                 "small.tcl", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    files = {f["path"]: f for f in json.loads(done.stdout)["files"]}
    assert files["big.tcl"]["verdict"] == "same"
    assert files["big.tcl"]["scan"] is None
    assert files["big.tcl"]["scan_skipped"] == "larger than 4 MiB (tclbridge scan's limit)"
    assert files["small.tcl"]["scan"]["packages"] == {"smtp": None}
    assert files["small.tcl"]["scan_skipped"] is None
    report = (tmp_path / "r.md").read_text()
    assert ("Not scanned by `tclbridge scan`: larger than 4 MiB (tclbridge scan's limit)."
            in report)


@pytest.mark.skipif(unprivileged.PREFIX is None, reason=unprivileged.WHY_NOT)
def test_a_directory_that_cannot_be_listed_is_a_row(tmp_path: Path) -> None:
    """os.walk skipped it without a word, and the fleet said "all agree"
    (exit 0) having left its files out. Run by a user whom chmod binds (as
    root: in a user namespace, tests/support/unprivileged.py)."""
    fleet_dir = tmp_path / "fleet"
    (fleet_dir / "locked").mkdir(parents=True)
    (fleet_dir / "ok.tcl").write_text("puts ok\n")
    (fleet_dir / "locked" / "x.tcl").write_text("puts hidden\n")
    (fleet_dir / "locked").chmod(0)
    try:
        done = subprocess.run(
            unprivileged.unprivileged([sys.executable, "-m", "tclbridge", "check", "--timeout",
                                       "20", "fleet"]),
            capture_output=True, text=True, cwd=tmp_path, timeout=90,
            env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        (fleet_dir / "locked").chmod(0o755)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert rows(lines[:lines.index("")]) == {
        "fleet/locked": ("failed to run", "cannot list the directory: Permission denied"),
        "fleet/ok.tcl": ("same", ""),
    }
    assert lines[-1] == "2 files: 1 same, 0 differ, 1 failed to run"


def test_table_and_summary_show_the_same_error_line(tmp_path: Path) -> None:
    """A file whose runs both failed: its table row and its section say the
    same message, as `check FILE` does (the table cut it at 120 characters,
    check's summary at 200)."""
    (tmp_path / "long.tcl").write_text('error "no config [string repeat x 150] here\\nmore"\n')
    done = check("--each", "--report", "r.md", "long.tcl", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    message = f"no config {'x' * 150} here"
    row = next(line for line in done.stdout.splitlines() if line.startswith("long.tcl"))
    assert row.split(None, 2)[2] == f"both runs failed: {message}"
    report = (tmp_path / "r.md").read_text()
    assert f"| `long.tcl` | same | both runs failed: {message} |" in report
    assert f"**same**, but both runs failed: {message}" in report
