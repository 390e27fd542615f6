"""`tclbridge check SCRIPT [ARGS...]`: run a script under tclsh + tcllib and under
the bridge, each against a fresh capture server on 127.0.0.1, and say where
they differ.

Compared: exit code, stdout, the client's SMTP commands, the envelope, and each
delivered message (headers in order, MIME tree, decoded bodies); values that
change from run to run (dates, message ids, boundaries, the client's host name,
SIZE values, ports) are masked, and so is every secret, on both sides alike
(`hide_secrets`: -password values quoted back, passwords the server heard in
AUTH and their base64). The script's -servers/-ports are replaced in both
runs, and both run in one private network namespace with the servers
(tclbridge.sandbox): no mail leaves the machine by any path; a child
`tclbridge run` or `sendmail` delivers to its run's server and is counted.
The server accepts everything and offers AUTH PLAIN LOGIN and STARTTLS, and
implicit TLS on a second port, where -tlsimport 1 connections go (its
certificate is from a CA made for the check, which the bridge trusts; tcllib's
tls does not verify). Which sessions were TLS (STARTTLS or implicit) is
compared too.
The bridge runs without the site policy (TCLBRIDGE_POLICY is not passed on): tcllib
knows no policy, so its relay, recipient and TLS rules would only be differences.
A run stopped at --timeout did not finish, so it is never reported as agreeing:
check exits 2 and names the run(s) that timed out.
A Tk script runs until it destroys `.` or exits, as under tclsh. With Xvfb
installed each run gets a private X display inside the namespace, and the
host's X sockets are hidden (tclbridge.display); else DISPLAY is passed on.
A script that needs Tk and gets no display makes check exit 2 with one line.
A run that ends with an uncaught error is compared by the error's message (each
run writes it to the file $TCLBRIDGE_ERROR_REPORT names); when both end with the
same one, they agree but "both runs failed" is said. Each difference that a
docs/COMPAT.md entry explains is labelled with it (differential.causes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tclbridge import throwaway_ca
from tclbridge.config import ERROR_REPORT_ENV, format_host_port
from tclbridge.differential.causes import BY_NAME, CAUSES, explain
from tclbridge.differential.compare import diff, prepare
from tclbridge.differential.compat import GENERAL_ENTRIES
from tclbridge.differential.masking import Masker, hide_secrets, secrets_of
from tclbridge.differential.outcome import Difference, ObservedRun
from tclbridge.differential.reference import (
    INSTALL_COMMAND,
    find_tclsh,
    reference_argv,
    tcllib_missing,
    write_preamble,
)
from tclbridge.differential.run import ServerSpec, run_against_servers
from tclbridge.display import XVFB_INSTALL, DisplayError, RunDisplay, tk_display_error
from tclbridge.policy import POLICY_ENV
from tclbridge.recorder import RecordingServer, ServerScript
from tclbridge.sandbox import (
    CAPTURE_ENV,
    CaptureEndpoint,
    SandboxError,
    SendmailShim,
    child_env,
    isolate,
    seal,
)

if TYPE_CHECKING:
    from tclbridge.fleet import Entry

DEFAULT_TIMEOUT = 60.0
# Like capture mode: accept everything, offer AUTH so that scripts with
# -username take their usual path, and TLS both ways.
CHECK_SERVER = ServerScript(capabilities=["AUTH PLAIN LOGIN", "STARTTLS"])
CHECK_SERVER_SPEC = ServerSpec(CHECK_SERVER, tls="starttls+implicit")
# The bridge's documented fixes that apply to any script (see docs/COMPAT.md).
CHECK_COMPAT = [{"entry": entry} for entry in GENERAL_ENTRIES]

ASPECT_WORDS = {
    "exit": "exit code",
    "error": "uncaught error",
    "stdout": "standard output",
    "stderr": "standard error",
    "commands": "SMTP commands",
    "envelope": "envelope",
    "messages": "message content",
}


@dataclass
class CheckResult:
    script: str
    args: list[str]
    tcllib: ObservedRun
    bridge: ObservedRun
    differences: list[Difference]  # masked, secrets included
    secrets: frozenset[str] = field(default=frozenset(), repr=False)  # what args must not show
    # Each run's uncaught error message, masked as the differences are.
    errors: dict[str, str | None] = field(default_factory=dict)

    @property
    def timed_out(self) -> list[str]:
        """The runs that were stopped at the timeout: nothing to compare them by."""
        return [name for name, run in (("tcllib", self.tcllib), ("bridge", self.bridge))
                if run.exit is None]

    @property
    def agree(self) -> bool:
        return not self.differences and not self.timed_out

    @property
    def both_failed(self) -> bool:
        """Both runs ended with an uncaught error (the same one, if they agree)."""
        return all(self.errors.get(name) is not None for name in ("tcllib", "bridge"))

    def summary(self) -> str:
        if self.timed_out:
            runs = " and ".join(self.timed_out)
            return (f"incomplete: the {runs} run{'s' if len(self.timed_out) > 1 else ''} "
                    "timed out, so the runs cannot be compared")
        if self.agree and self.both_failed:
            return f"same, but both runs failed: {first_line(self.errors['tcllib'] or '')}"
        if self.agree:
            return f"same: tcllib and the bridge agree ({_shape(self.tcllib)})"
        counts = Counter(ASPECT_WORDS[d.aspect] for d in self.differences)
        detail = ", ".join(f"{n} in {words}" for words, n in counts.items())
        n = len(self.differences)
        explained = [d for d in self.differences if d.causes]
        known = (f"; {len(explained)} explained by docs/COMPAT.md ({', '.join(self.causes)})"
                 if explained else "")
        return f"differ: {n} difference{'s' if n != 1 else ''} ({detail}){known}"

    @property
    def causes(self) -> list[str]:
        """The COMPAT entries that explain some of the differences, in table order."""
        found = {name for d in self.differences for name in d.causes}
        return [cause.name for cause in CAUSES if cause.name in found]

    def to_json(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "args": [hide_secrets(arg, self.secrets) for arg in self.args],
            "agree": self.agree,
            "both_failed": self.both_failed,
            "timed_out": self.timed_out,
            "differences": [{"aspect": d.aspect, "where": d.where, "tcllib": d.expected,
                             "bridge": d.actual, "compat": [_cause_json(name) for name in d.causes]}
                            for d in self.differences],
            "compat": self.causes,
            "summary": self.summary(),
            "runs": {name: {"exit": o.exit, "error": self.errors.get(name),
                            "sessions": len(o.sessions), "messages": len(o.messages)}
                     for name, o in (("tcllib", self.tcllib), ("bridge", self.bridge))},
        }


def _cause_json(name: str) -> dict[str, str]:
    cause = BY_NAME[name]
    return {"name": name, "reason": cause.reason, "doc": cause.link()}


def first_line(text: str, limit: int = 200) -> str:
    """An error message's first line, shortened to `limit` characters: as the
    summary and a fleet's table show it."""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _shape(outcome: ObservedRun) -> str:
    sessions, messages = len(outcome.sessions), len(outcome.messages)
    return (f"exit code {outcome.exit}, {sessions} SMTP session{'s' if sessions != 1 else ''}, "
            f"{messages} message{'s' if messages != 1 else ''} delivered")


def run_check(script: str, args: Sequence[str], *, tclsh: str,
              timeout: float = DEFAULT_TIMEOUT,
              shim: SendmailShim | None = None,
              display: RunDisplay | None = None) -> CheckResult:
    """Run `script` under tclsh + tcllib, then under the bridge, and compare.
    Each run's children (a `tclbridge run`, `shim` as sendmail) send to that
    run's server. `display` gives each run its X display (default: the
    environment's DISPLAY)."""
    displays = display or RunDisplay(None, False, os.environ.get("DISPLAY"))

    def endpoint(servers: Sequence[RecordingServer]) -> CaptureEndpoint:
        first = servers[0]
        assert first.implicit_tls_port is not None
        return CaptureEndpoint((first.host, first.port), (first.host, first.implicit_tls_port),
                               str(ca.cafile))

    def children(servers: Sequence[RecordingServer]) -> dict[str, str]:
        path = {"PATH": os.environ.get("PATH", os.defpath)}
        return child_env(endpoint(servers), shim, base=path)

    def tcllib_argv(servers: Sequence[RecordingServer]) -> list[str]:
        first = servers[0]
        return reference_argv(tclsh, preamble, (first.host, first.port), script, args,
                              implicit_tls_port=first.implicit_tls_port)

    def bridge_argv(servers: Sequence[RecordingServer]) -> list[str]:
        found = endpoint(servers)
        assert found.implicit_tls is not None and found.cafile is not None
        return [sys.executable, "-m", "tclbridge", "run",
                "--server", format_host_port(found.server),
                "--implicit-tls-server", format_host_port(found.implicit_tls),
                "--cafile", found.cafile, script, *args]

    # A capture the check runs under (TCLBRIDGE_CAPTURE) is not the check's.
    without_capture = {k: v for k, v in os.environ.items() if k != CAPTURE_ENV}
    without_policy = {k: v for k, v in without_capture.items() if k != POLICY_ENV}
    with tempfile.TemporaryDirectory(prefix="tclbridge_check_") as tmp:
        # Outside each run's TMPDIR: the preamble, the CA both runs' servers
        # take their certificates from (the bridge trusts it with --cafile),
        # and where each run writes its uncaught error.
        preamble = write_preamble(Path(tmp))
        ca = throwaway_ca.make(Path(tmp))
        reports = {name: Path(tmp, f"{name}.error") for name in ("tcllib", "bridge")}
        with displays.for_run() as x_env:
            tcllib = run_against_servers(
                tcllib_argv, [CHECK_SERVER_SPEC], timeout=timeout,
                env={**without_capture, **x_env, ERROR_REPORT_ENV: str(reports["tcllib"])},
                server_env=children, ca=ca, trust_ca=False)
        with displays.for_run() as x_env:
            bridge = run_against_servers(
                bridge_argv, [CHECK_SERVER_SPEC], timeout=timeout,
                env={**without_policy, **x_env, ERROR_REPORT_ENV: str(reports["bridge"])},
                server_env=children, ca=ca, trust_ca=False)
        tcllib.error, bridge.error = (_uncaught_error(reports[name])
                                      for name in ("tcllib", "bridge"))
    # Both runs parsed once, for the comparison and for its labels.
    prepared = prepare(tcllib, bridge, compat=CHECK_COMPAT)
    differences = explain(tcllib, bridge, diff(*prepared), compat=CHECK_COMPAT,
                          prepared=prepared)
    secrets = frozenset(secrets_of(tcllib) | secrets_of(bridge))
    masker = Masker(secrets=secrets)
    errors = {name: None if run.error is None else masker.stream(run.error, run.substitutions)
              for name, run in (("tcllib", tcllib), ("bridge", bridge))}
    return CheckResult(script, list(args), tcllib, bridge, differences, secrets, errors)


def _uncaught_error(report: Path) -> str | None:
    """The message a run wrote for its uncaught error (UTF-8), if it wrote one."""
    try:
        return report.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return None


# -- output ---------------------------------------------------------------------------


def render(result: CheckResult, width: int) -> str:
    """Each difference with tcllib's and the bridge's value side by side, then the summary."""
    lines = [f"tclbridge check {result.script}: tcllib (tclsh) | bridge (tclbridge run)", ""]
    for n, d in enumerate(result.differences, 1):
        lines += render_difference(n, d, width)
        lines.append("")
    lines.append(result.summary())
    return "\n".join(lines)


def render_difference(n: int, d: Difference, width: int) -> list[str]:
    """The difference's heading, its COMPAT labels, then tcllib's and the
    bridge's value side by side in columns that fit `width`."""
    column = max(20, (width - 7) // 2)
    lines = [f"{n}. {_heading(d)}"]
    lines += [f"   — {BY_NAME[name].label()}" for name in d.causes]
    cells = zip_longest(_cells(d.expected, column), _cells(d.actual, column), fillvalue="")
    rows = [("tcllib", "bridge"), *cells]
    lines += [f"   {a:<{column}} | {b}".rstrip() for a, b in rows]
    return lines


def _heading(difference: Difference) -> str:
    words = ASPECT_WORDS[difference.aspect]
    return words if difference.where == words else f"{words}, {difference.where}"


def _cells(value: str, width: int) -> list[str]:
    return textwrap.wrap(value, width, replace_whitespace=False, drop_whitespace=False) or [""]


# -- command line ----------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from tclbridge.fleet import DEFAULT_JOBS
    from tclbridge.fleet import __doc__ as fleet_doc

    check = subparsers.add_parser(
        "check", help="run a script under tcllib and under the bridge and compare what they do",
        description=f"{__doc__}\n{fleet_doc}",
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
    check.add_argument("--jobs", type=_jobs, default=DEFAULT_JOBS, metavar="N",
                       help=f"check N files at a time (default {DEFAULT_JOBS})")
    check.add_argument("--report", metavar="FILE",
                       help="also write a Markdown report (verdicts, differences, scan "
                            "findings per file) to FILE")
    check.add_argument("script", metavar="SCRIPT|PATH")
    check.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS|PATH")


def main(opts: argparse.Namespace) -> int:
    """0: the runs agree, 1: they differ, 2: no comparison (tcllib missing, no script,
    a run timed out). For several files: see tclbridge.fleet."""
    fleet = opts.each or Path(opts.script).is_dir()
    paths = [opts.script, *opts.args]
    if fleet and any(word.startswith("-") for word in paths):
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
    if not fleet and not Path(opts.script).is_file():
        return _cannot_compare(opts, f"cannot read the script {opts.script}")
    assert tclsh is not None
    # The files are found before isolate(): in its user namespace this process
    # could list directories the user (and so the runs) cannot.
    from tclbridge.fleet import discover

    entries = discover(paths) if fleet else []
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
        if fleet:
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
        from tclbridge import fleet as reporting

        entry = reporting.Entry(opts.script, list(opts.args), result)
        reporting.scan_file(entry)
        _write_report(opts.report, reporting.markdown_report([entry], timeout=opts.timeout))
    if result.timed_out:
        return 2
    return 0 if result.agree else 1


def _check_fleet(opts: argparse.Namespace, entries: list[Entry], paths: list[str],
                 tclsh: str, shim: SendmailShim, display: RunDisplay) -> int:
    from tclbridge import fleet

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
