"""`tclbridge check DIR...` (or `check --each PATH...`): a whole fleet of
scripts, each checked as tclbridge.check checks one, `--jobs N` at a time in
the check's one network namespace, summed up in a table, `--json` or a
Markdown report (`--report FILE`). Which files are found (regular `*.tcl`
files, with the user's own rights, before isolation), the verdicts and the
exit status are told to users in check_command's help text; `exit_code` is
that status."""

from __future__ import annotations

import datetime
import errno
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tclbridge import __version__, scan
from tclbridge.check import CheckResult, first_line, render_difference, run_check
from tclbridge.differential.causes import BY_NAME
from tclbridge.differential.masking import hide_secrets
from tclbridge.differential.outcome import ObservedRun
from tclbridge.display import RunDisplay, tk_display_error
from tclbridge.printable import printable
from tclbridge.sandbox import SendmailShim

DEFAULT_JOBS = max(1, min(4, os.cpu_count() or 1))
SUFFIX = ".tcl"
SCAN_LIMIT = scan.MAX_FILE_SIZE  # bytes of a file read for its scan findings

SAME, DIFFERS, FAILED = "same", "differs", "failed to run"


@dataclass
class Entry:
    """One file of the fleet and what checking it gave."""

    path: str  # as given or found (relative to the path given)
    args: list[str] = field(default_factory=list)
    result: CheckResult | None = None
    problem: str | None = None  # why it was not compared, when it was not
    scan: scan.FileReport | None = None
    scan_skipped: str | None = None  # why the file was not scanned, when it was not

    @property
    def shown(self) -> str:
        """The path for a table or heading: control characters (a newline or
        a CSI in a file name) and undecodable bytes escaped (tclbridge.printable)."""
        return printable(self.path)

    @property
    def verdict(self) -> str:
        if self.result is None or self.result.timed_out:
            return FAILED
        return SAME if self.result.agree else DIFFERS

    def detail(self) -> str:
        """One line for the table."""
        if self.problem is not None:
            return self.problem
        assert self.result is not None
        result = self.result
        if result.timed_out:
            return f"{' and '.join(result.timed_out)} run timed out"
        if result.agree:
            if result.both_failed:
                return f"both runs failed: {first_line(result.errors['tcllib'] or '')}"
            return ""
        n = len(result.differences)
        unexplained = sum(1 for d in result.differences if not d.causes)
        words = [f"{n} difference{'s' if n != 1 else ''}"]
        if result.causes:
            words.append("COMPAT " + ", ".join(result.causes))
        if unexplained and result.causes:
            words.append(f"{unexplained} not explained")
        return "; ".join(words)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "verdict": self.verdict,
            "problem": self.problem,
            "check": None if self.result is None else self.result.to_json(),
            "scan": None if self.scan is None else self.scan.to_json(),
            "scan_skipped": self.scan_skipped,
        }


# -- which files -------------------------------------------------------------------------


def discover(paths: Sequence[str]) -> list[Entry]:
    """An entry per file to check, in the order given, each directory's
    sorted; a path that is not a regular file, or a directory that cannot be
    listed, is an entry with its problem."""
    entries: list[Entry] = []
    seen: set[str] = set()
    for given in paths:
        root = Path(given)
        found = _tcl_files(root) if root.is_dir() else [(root, _not_a_script(root))]
        for path, problem in found:
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                entries.append(Entry(str(path), problem=problem))
    return entries


def _tcl_files(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Each `*.tcl` under `root` with why it cannot be checked (None if it
    can), and each directory that could not be listed with why."""
    unlisted: list[OSError] = []
    # os.walk reports a directory it cannot list to onerror, then goes on.
    for directory, subdirs, files in os.walk(root, onerror=unlisted.append):
        yield from _unlisted(unlisted)
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(SUFFIX):
                path = Path(directory, name)
                yield path, _not_a_script(path)
    yield from _unlisted(unlisted)


def _unlisted(errors: list[OSError]) -> Iterator[tuple[Path, str]]:
    for error in errors:
        yield Path(error.filename), f"cannot list the directory: {error.strerror or error}"
    errors.clear()


def _not_a_script(path: Path) -> str | None:
    """Why `path` cannot be checked, from its metadata alone (a FIFO is not
    opened: that would wait for a writer)."""
    try:
        mode = path.stat().st_mode  # a link is followed
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    return _not_regular(mode)


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    kind = next((name for test, name in kinds if test(mode)), "not a file")
    return f"not a regular file ({kind})"


def scan_file(entry: Entry, limit: int = SCAN_LIMIT) -> None:
    """`tclbridge scan`'s findings for the entry's file, from its first
    `limit` bytes (a larger file is left unscanned, and says so). Opened
    without blocking and checked again once open: a FIFO put in the file's
    place since `discover` cannot hang the check. OSError if it cannot be
    read (or is no longer a regular file)."""
    fd = os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    with open(fd, "rb") as file:
        problem = _not_regular(os.fstat(fd).st_mode)
        if problem is not None:
            raise OSError(errno.EINVAL, problem)
        data = file.read(limit + 1)
    if len(data) > limit:
        entry.scan_skipped = f"larger than {limit // 1048576} MiB (tclbridge scan's limit)"
        return
    entry.scan = scan.analyse(data.decode("utf-8", errors="replace"), entry.path)


# -- checking ----------------------------------------------------------------------------


def check_all(entries: Sequence[Entry], *, tclsh: str, timeout: float, jobs: int,
              shim: SendmailShim | None, display: RunDisplay | None = None,
              progress: Callable[[int, int, Entry], None] | None = None) -> None:
    """Check each entry not already failed, `jobs` at a time (threads: the
    runs are child processes, and the servers must stay in this process's
    network namespace)."""
    todo = [e for e in entries if e.problem is None]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="check") as pool:
        running = [pool.submit(_check_one, e, tclsh, timeout, shim, display) for e in todo]
        for n, done in enumerate(as_completed(running), 1):
            entry = done.result()
            if progress is not None:
                progress(n, len(todo), entry)


def _check_one(entry: Entry, tclsh: str, timeout: float,
               shim: SendmailShim | None, display: RunDisplay | None) -> Entry:
    try:
        scan_file(entry)
    except OSError as exc:
        entry.problem = f"cannot read: {exc.strerror or exc}"
        return entry
    try:
        result = run_check(entry.path, entry.args, tclsh=tclsh, timeout=timeout, shim=shim,
                           display=display)
        # Both runs failing alike to open the display would read as "same".
        no_display = (tk_display_error(result.tcllib.exit, result.tcllib.stderr)
                      or tk_display_error(result.bridge.exit, result.bridge.stderr))
        if no_display and display is not None:
            entry.problem = display.unusable(no_display)
        else:
            entry.result = _slim(result)
    except Exception as exc:  # noqa: BLE001 - one file's failure is its row, not the fleet's
        entry.problem = f"could not compare: {type(exc).__name__}: {exc}"
    return entry


def _slim(result: CheckResult) -> CheckResult:
    """The result without what the table, --json and the report never show
    (output, message data, differences' full texts): a fleet of scripts that
    send large mail keeps little per file."""
    def outcome(run: ObservedRun) -> ObservedRun:
        return replace(run, stdout="", stderr="",
                       messages=[replace(m, data=b"") for m in run.messages])

    return replace(result, tcllib=outcome(result.tcllib), bridge=outcome(result.bridge),
                   differences=[replace(d, texts=None) for d in result.differences])


def exit_code(entries: Sequence[Entry]) -> int:
    verdicts = {e.verdict for e in entries}
    if DIFFERS in verdicts:
        return 1
    return 0 if verdicts == {SAME} else 2


def totals(entries: Sequence[Entry]) -> dict[str, int]:
    return {
        "files": len(entries),
        "same": sum(1 for e in entries if e.verdict == SAME),
        "both_failed": sum(1 for e in entries if e.verdict == SAME and e.result is not None
                           and e.result.both_failed),
        "differs": sum(1 for e in entries if e.verdict == DIFFERS),
        "differs_only_by_compat": sum(
            1 for e in entries if e.verdict == DIFFERS and e.result is not None
            and all(d.causes for d in e.result.differences)),
        "failed": sum(1 for e in entries if e.verdict == FAILED),
    }


def totals_line(entries: Sequence[Entry]) -> str:
    t = totals(entries)
    same = f"{t['same']} same"
    if t["both_failed"]:
        same += f" ({t['both_failed']} of them failed in both runs)"
    differs = f"{t['differs']} differ{'s' if t['differs'] == 1 else ''}"
    if t["differs"]:
        differs += f" ({t['differs_only_by_compat']} only by COMPAT entries)"
    return f"{t['files']} file{'s' if t['files'] != 1 else ''}: {same}, {differs}, " \
           f"{t['failed']} failed to run"


# -- output ------------------------------------------------------------------------------


def table(entries: Sequence[Entry]) -> list[str]:
    rows = [("FILE", "VERDICT", "DETAIL")] + [(e.shown, e.verdict, printable(e.detail()))
                                          for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return [f"{path:<{widths[0]}}  {verdict:<{widths[1]}}  {detail}".rstrip()
            for path, verdict, detail in rows]


def markdown_report(entries: Sequence[Entry], *, timeout: float, width: int = 100) -> str:
    """The report: how it was made, the table, then per file its verdict, its
    differences side by side and what `tclbridge scan` finds in it. The
    differences and error messages are masked as check shows them (secrets
    hidden); scan shows option names, never values."""
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "# tclbridge check report",
        "",
        f"Each script ran under tclsh + tcllib and under the bridge (tclbridge "
        f"{__version__}), each run against its own capture server, at most {timeout:g} s "
        f"each; {now}. Labels name the places where the bridge differs from tcllib on "
        "purpose; `tclbridge help compat NAME` explains one.",
        "",
        "| File | Verdict | Details |",
        "|---|---|---|",
    ]
    lines += [f"| {_cell(_code(e.shown))} | {e.verdict} | {_cell(printable(e.detail()))} |"
              for e in entries]
    lines += ["", totals_line(entries), ""]
    for entry in entries:
        lines += _file_section(entry, width)
    return "\n".join(lines) + "\n"


def _file_section(entry: Entry, width: int) -> list[str]:
    lines = [f"## {_code(entry.shown)}", ""]
    result = entry.result
    if entry.problem is not None or result is None:
        lines += [f"**{entry.verdict}**: {printable(entry.problem or '')}", ""]
    else:
        lines += [f"**{entry.verdict}**{_after_verdict(result.summary())}", ""]
        if entry.args:
            shown = " ".join(hide_secrets(a, result.secrets) for a in entry.args)
            lines += [f"Arguments: {_code(shown)}", ""]
        for n, d in enumerate(result.differences, 1):
            labels = "; ".join(f"COMPAT `{name}`: {BY_NAME[name].reason}"
                               for name in d.causes)
            block = render_difference(n, d, width)
            lines += [f"{n}. {block[0].split(' ', 1)[1]}" + (f" — {labels}" if labels else ""),
                      "", *_fenced([row for row in block[1:] if not row.startswith("   — ")]),
                      ""]
    if entry.scan is not None:
        found = scan.findings(entry.scan)
        lines += ["What `tclbridge scan` finds in it:", ""]
        lines += _fenced([line.strip() for line in found]) if found else [
            "nothing: no smtp or mime use found"]
        lines.append("")
    elif entry.scan_skipped is not None:
        lines += [f"Not scanned by `tclbridge scan`: {entry.scan_skipped}.", ""]
    return lines


def _after_verdict(summary: str) -> str:
    """The summary line without the word the verdict already says."""
    for word in ("same, ", "same: ", "differ: ", "incomplete: "):
        if summary.startswith(word):
            rest = summary[len(word):]
            return f", {rest}" if word == "same, " else f": {rest}"
    return f": {summary}"


def _fenced(rows: list[str]) -> list[str]:
    """A code block whose fence no backtick run inside can close."""
    longest = max((len(run) for row in rows for run in re.findall(r"`+", row)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *rows, fence]


def _code(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _cell(text: str) -> str:
    """Text for a table cell: a "|" would end the cell (also inside a code span)."""
    return text.replace("|", "\\|").replace("\n", " ")


def to_json(entries: Sequence[Entry]) -> dict[str, Any]:
    return {"files": [e.to_json() for e in entries], "totals": totals(entries),
            "exit": exit_code(entries)}


def print_progress(n: int, total: int, entry: Entry) -> None:
    detail = printable(entry.detail())
    print(f"tclbridge check: [{n}/{total}] {entry.shown}: {entry.verdict}"
          + (f" ({detail})" if detail else ""), file=sys.stderr, flush=True)
