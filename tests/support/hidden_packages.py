"""Running a command where tclsh is installed but a Tcl package (tcllib, or
tcl-tls) is not: in a private mount namespace (`unshare --mount`), an empty
directory is bind-mounted over the directory the package comes from, so
`package require` fails there the way it does on a machine without it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def package_directory(package: str, levels_up: int) -> Path | None:
    """The directory tclsh loads `package` from: the last path its `ifneeded`
    script names, `levels_up` levels up (smtp's names .../tcllib1.21/mime/
    smtp.tcl, tls's its own directory)."""
    if shutil.which("tclsh") is None:
        return None
    probe = subprocess.run(
        ["tclsh"], input=f"puts [package ifneeded {package} [package require {package}]]\n",
        capture_output=True, text=True, timeout=30)
    paths = [Path(word.strip("{}\"'")) for word in probe.stdout.split()]
    found = [path for path in paths if path.is_absolute() and path.exists()]
    if not found:
        return None
    return found[-1].parents[levels_up - 1] if levels_up else found[-1]


def _unshare() -> list[str] | None:
    if shutil.which("unshare") is None:
        return None
    base = ["unshare", "--mount"]
    if os.geteuid() != 0:
        base.insert(1, "--map-root-user")
    probe = subprocess.run([*base, "true"], capture_output=True, timeout=30)
    return base if probe.returncode == 0 else None


TCLLIB = package_directory("smtp", 2)  # .../tcllib1.21
TCL_TLS = package_directory("tls", 0)  # .../tcltls1.7.22
UNSHARE = _unshare()
WHY_NOT = ("tcllib or tcl-tls is not installed" if TCLLIB is None or TCL_TLS is None
           else "no private mount namespace here (unshare --mount failed)")
AVAILABLE = TCLLIB is not None and TCL_TLS is not None and UNSHARE is not None


def run_hiding(directory: Path | None, argv: Sequence[str], *, cwd: Path,
               env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `argv` with `directory` (TCLLIB or TCL_TLS) hidden; tclsh itself stays."""
    assert AVAILABLE, WHY_NOT
    assert directory is not None and UNSHARE is not None
    with tempfile.TemporaryDirectory(prefix="hidden_package_") as empty:
        setup = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        return subprocess.run(
            [*UNSHARE, "sh", "-c", setup, "sh", empty, str(directory), *argv],
            capture_output=True, text=True, timeout=timeout, cwd=cwd, env=dict(env))
