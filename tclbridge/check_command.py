"""`tclbridge check`: its command line. One script is checked by
tclbridge.check, several files (a directory, --each) by tclbridge.fleet;
this module chooses, sets up the isolation both share, prints and sets the
exit code."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path

from tclbridge import fleet
from tclbridge.check import DEFAULT_TIMEOUT, render, run_check
from tclbridge.differential.reference import INSTALL_COMMAND, find_tclsh, tcllib_missing
from tclbridge.display import XVFB_INSTALL, DisplayError, RunDisplay, tk_display_error
from tclbridge.sandbox import SandboxError, SendmailShim, isolate, seal

_DESCRIPTION = """\
`tclbridge check SCRIPT [ARGS...]`: run a script under tclsh + tcllib and under
the bridge, each against a fresh capture server on 127.0.0.1, and say where
they differ.

Compared: exit code, stdout, the client's SMTP commands, the envelope, and each
delivered message (headers in order, MIME tree, decoded bodies); values that
change from run to run (dates, message ids, boundaries, the client's host name,
SIZE values, ports) are masked, and so is every secret, on both sides alike
(-password values quoted back, passwords the server heard in AUTH and their
base64). The script's -servers/-ports are replaced in both runs, and both run
in one private network namespace with the servers: no mail leaves the machine
by any path; a child `tclbridge run` or `sendmail` delivers to its run's
server and is counted. The server accepts everything and offers AUTH PLAIN
LOGIN and STARTTLS, and implicit TLS on a second port, where -tlsimport 1
connections go (its certificate is from a CA made for the check, which the
bridge trusts; tcllib's tls does not verify). Which sessions were TLS
(STARTTLS or implicit) is compared too.
The bridge runs without the site policy (TCLBRIDGE_POLICY is not passed on):
tcllib knows no policy, so its relay, recipient and TLS rules would only be
differences.
A run stopped at --timeout did not finish, so it is never reported as agreeing:
check exits 2 and names the run(s) that timed out.
A Tk script runs until it destroys `.` or exits, as under tclsh. With Xvfb
installed each run gets a private X display inside the namespace, and the
host's X sockets are hidden; else DISPLAY is passed on. A script that needs Tk
and gets no display makes check exit 2 with one line.
A run that ends with an uncaught error is compared by the error's message;
when both end with the same one, they agree but "both runs failed" is said.
Each difference that one of the bridge's intended differences from tcllib
explains is labelled with its name (`tclbridge help compat NAME` shows it).
Exit status: 0 when the runs agree, 1 when they differ, 2 when they could not
be compared (tcllib missing, no script, a run timed out).

`tclbridge check DIR...` (or `check --each PATH...`): check a whole fleet of
scripts, a few at a time, and sum it up in a table, `--json` or a Markdown
report (`--report FILE`) to attach to a migration ticket.

Which files: every `*.tcl` file under each directory (recursively, sorted;
hidden directories skipped; a symbolic link to a directory is not entered, a
link to a file is checked once, under the first path that reaches it), and
each file named on the command line whatever its name. Only regular files
(after following a link) are checked: a FIFO, a device or a socket is a row
"failed to run" (it is never opened), and so is a directory that cannot be
listed, so no file is left out unsaid. The scan findings are made from the
first 4 MiB at most (`tclbridge scan`'s limit; a larger file is run but not
scanned, which the report says). Each is checked as `check FILE` would,
without arguments, each run with its own --timeout; `--jobs N` files at a
time (default: the number of CPUs, at most 4). All runs share the check's one
private network namespace, each on servers of its own.

Each file gets a verdict: "same" (also when both runs failed the same way,
which is said), "differs" (with the names of the intended differences that
explain differences) or "failed to run" (a run timed out, the file cannot be
read). Exit status: 0 when every file agrees, 1 when any differs, 2 when none
differs but some could not be compared, or when nothing could be (no files,
tcllib missing)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "check", help="run a script under tcllib and under the bridge and compare what they do",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [options] SCRIPT [ARGS...]\n"
              "       %(prog)s [options] DIR [PATH...]\n"
              "       %(prog)s [options] --each PATH [PATH...]")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"stop each run after this long (default {DEFAULT_TIMEOUT:g})")
    check.add_argument("--each", action="store_true",
                       help="each word after the options is a PATH to check (a file or a "
                            "directory of .tcl files), none is an argument; the default when "
                            "the first is a directory")
    check.add_argument("--jobs", type=_jobs, default=fleet.DEFAULT_JOBS, metavar="N",
                       help=f"check N files at a time (default {fleet.DEFAULT_JOBS})")
    check.add_argument("--report", metavar="FILE",
                       help="also write a Markdown report (verdicts, differences, scan "
                            "findings per file) to FILE")
    check.add_argument("script", metavar="SCRIPT|PATH",
                       help="the Tcl script to check, or a directory of .tcl files")
    check.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS|PATH",
                       help="arguments for the script (its $argv), or more files and "
                            "directories when the first is a directory or with --each")


def main(opts: argparse.Namespace) -> int:
    """0: the runs agree, 1: they differ, 2: no comparison (tcllib missing, no script,
    a run timed out). For several files: see tclbridge.fleet."""
    several = opts.each or Path(opts.script).is_dir()
    paths = [opts.script, *opts.args]
    if several and any(word.startswith("-") for word in paths):
        late = " ".join(word for word in paths if word.startswith("-"))
        return _cannot_compare(opts, f"options go before the paths: {late}")
    if opts.report is not None:
        problem = _report_writable(opts.report)
        if problem is not None:
            return _cannot_compare(opts, problem)
    tclsh = find_tclsh()
    missing = tcllib_missing(tclsh)
    if missing is not None:
        return _cannot_compare(opts, f"{missing}; install it with: {INSTALL_COMMAND}",
                               install=INSTALL_COMMAND)
    if not several and not Path(opts.script).is_file():
        return _cannot_compare(opts, f"cannot read the script {opts.script}")
    assert tclsh is not None
    # The files are found before isolate(): in its user namespace this process
    # could list directories the user (and so the runs) cannot.
    entries = fleet.discover(paths) if several else []
    # Both runs, their children and the servers share one private network
    # namespace: no connection of the script's can leave the machine.
    try:
        isolation = isolate()
    except SandboxError as exc:
        return _cannot_compare(opts, str(exc))
    display = RunDisplay.choose(os.environ, private_network=isolation.network,
                                private_mounts=isolation.mounts)
    for warning in (isolation.warning(), display.warning()):
        if warning:
            print(warning, file=sys.stderr)
    shim = SendmailShim(isolation)
    seal(isolation, shim.directory, hide=display.hide)
    try:
        if several:
            return _check_fleet(opts, entries, paths, tclsh, shim, display)
        result = run_check(opts.script, opts.args, tclsh=tclsh, timeout=opts.timeout,
                           shim=shim, display=display)
    except DisplayError as exc:
        return _cannot_compare(opts, str(exc))
    finally:
        shim.cleanup()
    # Both runs failing alike to open the display would read as "same".
    no_display = (tk_display_error(result.tcllib.exit, result.tcllib.stderr)
                  or tk_display_error(result.bridge.exit, result.bridge.stderr))
    if no_display:
        return _cannot_compare(opts, display.unusable(no_display),
                               install=None if display.xvfb else XVFB_INSTALL)
    if opts.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(render(result, shutil.get_terminal_size().columns))
    if opts.report is not None:
        entry = fleet.Entry(opts.script, list(opts.args), result)
        fleet.scan_file(entry)
        _write_report(opts.report, fleet.markdown_report([entry], timeout=opts.timeout))
    if result.timed_out:
        return 2
    return 0 if result.agree else 1


def _check_fleet(opts: argparse.Namespace, entries: list[fleet.Entry], paths: list[str],
                 tclsh: str, shim: SendmailShim, display: RunDisplay) -> int:
    if not entries:
        return _cannot_compare(opts, f"no {fleet.SUFFIX} files in {' '.join(paths)}")
    fleet.check_all(entries, tclsh=tclsh, timeout=opts.timeout, jobs=opts.jobs, shim=shim,
                    display=display, progress=fleet.print_progress)
    if opts.json:
        print(json.dumps(fleet.to_json(entries), indent=1))
    else:
        print("\n".join([*fleet.table(entries), "", fleet.totals_line(entries)]))
    if opts.report is not None:
        _write_report(opts.report, fleet.markdown_report(entries, timeout=opts.timeout))
    return fleet.exit_code(entries)


def _report_writable(path: str) -> str | None:
    """Why the report could not be written, found before anything runs."""
    target = Path(path)
    if target.is_dir():
        return f"cannot write the report {path}: it is a directory"
    existed = target.exists()
    try:
        with target.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"cannot write the report {path}: {exc.strerror or exc}"
    if not existed:
        target.unlink()
    return None


def _write_report(path: str, text: str) -> None:
    # Whatever the names in it: a lone surrogate (an undecodable file name)
    # is written as its escape, never an error after the whole fleet ran.
    Path(path).write_text(text, encoding="utf-8", errors="backslashreplace")
    print(f"tclbridge check: report written to {path}", file=sys.stderr)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"expected a number of files from 1 to 64, not {text!r}")
    return value


def _seconds(text: str) -> float:
    """A --timeout: a number of seconds greater than 0 and finite."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value < math.inf):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds greater than 0, not {text!r}")
    return value


def _cannot_compare(opts: argparse.Namespace, reason: str, install: str | None = None) -> int:
    if opts.json:
        found = {"script": opts.script, "agree": None, "error": reason, "install": install}
        print(json.dumps(found, indent=1))
    else:
        print(f"tclbridge check: {reason}", file=sys.stderr)
    return 2
