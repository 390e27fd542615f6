"""Running a command where tclsh is installed but tcllib is not: in a private
mount namespace (`unshare --mount`), an empty directory is bind-mounted over
the directory tcllib's smtp package comes from, so `package require smtp`
fails there the way it does on a machine without tcllib."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def tcllib_directory() -> Path | None:
    """The tcllib installation tclsh loads smtp from (.../tcllib1.21), if any."""
    if shutil.which("tclsh") is None:
        return None
    probe = subprocess.run(
        ["tclsh"], input="puts [package ifneeded smtp [package require smtp]]\n",
        capture_output=True, text=True, timeout=30)
    words = probe.stdout.split()
    if probe.returncode != 0 or len(words) != 2 or words[0] != "source":
        return None
    return Path(words[1]).parent.parent  # .../tcllib1.21/mime/smtp.tcl


def _unshare() -> list[str] | None:
    if shutil.which("unshare") is None:
        return None
    base = ["unshare", "--mount"]
    if os.geteuid() != 0:
        base.insert(1, "--map-root-user")
    probe = subprocess.run([*base, "true"], capture_output=True, timeout=30)
    return base if probe.returncode == 0 else None


TCLLIB = tcllib_directory()
UNSHARE = _unshare()
WHY_NOT = ("tcllib is not installed" if TCLLIB is None
           else "no private mount namespace here (unshare --mount failed)")
AVAILABLE = TCLLIB is not None and UNSHARE is not None


def run_without_tcllib(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                       timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `argv` with tcllib's directory hidden (tclsh itself stays)."""
    assert AVAILABLE, WHY_NOT
    assert TCLLIB is not None and UNSHARE is not None
    with tempfile.TemporaryDirectory(prefix="no_tcllib_") as empty:
        setup = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        return subprocess.run(
            [*UNSHARE, "sh", "-c", setup, "sh", empty, str(TCLLIB), *argv],
            capture_output=True, text=True, timeout=timeout, cwd=cwd, env=dict(env))
