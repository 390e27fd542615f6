"""A Tcl program run as a user runs it, under tclsh + tcllib or under
`tclbridge run`, with what it printed in one comparable text."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

HAVE_TCLSH = shutil.which("tclsh") is not None
# Channel names (file5, sock7...) count the channels an interpreter opened
# before; the bridge's has opened others.
_CHANNEL = re.compile(r"\b(file|sock)[0-9a-f]+\b")


def run_program(script: Path, *args: str, bridge: bool, timeout: float = 60) -> str:
    """`exit N`, the script's stdout and the first line of its stderr, with
    channel names masked. It runs in its own directory, stdin empty."""
    command = [sys.executable, "-m", "tclbridge", "run"] if bridge else ["tclsh"]
    proc = subprocess.run(
        [*command, str(script), *args], capture_output=True, timeout=timeout,
        cwd=script.parent, stdin=subprocess.DEVNULL,
    )
    stdout = proc.stdout.decode("utf-8", "backslashreplace")
    stderr = proc.stderr.decode("utf-8", "backslashreplace").splitlines()
    text = f"exit {proc.returncode}\n{stdout}\nstderr: {stderr[0] if stderr else ''}\n"
    return _CHANNEL.sub(r"\1N", text)
