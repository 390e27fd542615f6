"""How `tclbridge` reads its command line: `run SCRIPT [ARGS...]` without
options takes a path that skips argparse (tclbridge.cli.plain_run), and must
read it exactly as the full parser does; `--version`."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tclbridge
from tclbridge.cli import _build_parser, plain_run

PLAIN = [
    ["run", "job.tcl"],
    ["run", "job.tcl", "a", "b c"],
    ["run", "job.tcl", "--capture", "dir", "--server", "x"],  # the script's own arguments
    ["run", "job.tcl", "-h"],
    ["run", "dir/with space/job.tcl", ""],
    ["run", "job.tcl", "--policy=p.toml"],
]


@pytest.mark.parametrize("words", PLAIN)
def test_plain_run_reads_as_argparse_does(words: list[str]) -> None:
    fast = plain_run(words)
    assert fast is not None
    assert vars(fast) == vars(_build_parser("run").parse_args(words))


@pytest.mark.parametrize("words", [
    [], ["run"], ["run", "--capture", "d", "job.tcl"], ["run", "-h"], ["run", "--", "job.tcl"],
    ["run", "job.tcl", "--"],
    ["check", "job.tcl"], ["scan", "."], ["--version"],
])
def test_anything_else_goes_to_the_full_parser(words: list[str]) -> None:
    assert plain_run(words) is None


def test_version() -> None:
    done = subprocess.run([sys.executable, "-m", "tclbridge", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"tclbridge {tclbridge.__version__}\n", "")
