"""Running one measured process: wall time, the time it reports for its own
work, and its peak resident set size."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class MeasureError(Exception):
    """The measured process failed; the message has its stderr."""


@dataclass(frozen=True)
class Measured:
    wall: float  # seconds from spawn to exit
    reported: float | None  # seconds the workload timed itself ("BENCH s" line)
    peak_rss: int  # bytes: ru_maxrss of this process (and any children it waited for)


def child_environment() -> dict[str, str]:
    """This environment, but letting Python write its bytecode caches: an
    installed tclbridge has them, so a run must not compile its modules from
    source each time (PYTHONDONTWRITEBYTECODE would make it)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_measured(argv: Sequence[str], timeout: float, cwd: Path | None = None) -> Measured:
    """Run `argv` to completion and measure it.

    The peak RSS comes from wait4() on this very child, so no other process
    (the sink in this one, earlier runs) is counted."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
            env=child_environment(),
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        reason = "timed out" if proc.returncode < 0 else f"exit {proc.returncode}"
        raise MeasureError(f"{' '.join(argv)}: {reason}\n{stderr[-2000:]}")
    return Measured(wall, _reported_seconds(stdout), usage.ru_maxrss * 1024)


def _reported_seconds(stdout: str) -> float | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("BENCH "):
            return float(line.split()[1])
    return None
