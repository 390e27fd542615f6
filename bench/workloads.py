"""The three implementations and the command line each workload runs.

The same Tcl script runs under `tclbridge run` and under `tclsh` (which
loads tcllib's smtp and mime); the Python scripts do the same work with the
standard library's email and smtplib.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tkinter
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"

BRIDGE = "bridge"
TCLLIB = "tcllib"
SMTPLIB = "smtplib"
IMPLEMENTATIONS = (BRIDGE, TCLLIB, SMTPLIB)
LABELS = {
    BRIDGE: "tclbridge run",
    TCLLIB: "tclsh + tcllib",
    SMTPLIB: "Python email + smtplib",
}


def bridge_command() -> list[str]:
    """`tclbridge` as installed beside this Python (the console script)."""
    script = Path(sys.executable).with_name("tclbridge")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "tclbridge"]


def tclsh() -> str:
    found = shutil.which("tclsh")
    if found is None:
        raise RuntimeError("tclsh not found: install Debian's tcl and tcllib")
    return found


def _tcl(impl: str, script: str, *args: object) -> list[str]:
    path = str(SCRIPTS / script)
    words = [str(a) for a in args]
    if impl == BRIDGE:
        return [*bridge_command(), "run", path, *words]
    return [tclsh(), path, *words]


def small_messages(impl: str, port: int, count: int) -> list[str]:
    if impl == SMTPLIB:
        return [sys.executable, str(SCRIPTS / "smtplib_small.py"), str(port), str(count)]
    return _tcl(impl, "small.tcl", port, count)


def attachment(impl: str, port: int, path: Path) -> list[str]:
    if impl == SMTPLIB:
        return [sys.executable, str(SCRIPTS / "smtplib_attach.py"), str(port), str(path)]
    return _tcl(impl, "attach.tcl", port, path)


# (c) only: what every Python-based start-up pays before the bridge's own code.
FLOOR = "floor"
FLOOR_LABEL = "Python + tkinter.Tcl() (floor)"


def startup(impl: str) -> list[str]:
    if impl == FLOOR:
        return [sys.executable, "-c", "import tkinter; tkinter.Tcl()"]
    return _tcl(impl, "startup.tcl")


def bridge_install() -> str:
    """How tclbridge is installed beside this Python: "editable" (its path
    finder slows every import) or "normal" (`pip install .`)."""
    from importlib import metadata

    try:
        direct_url = metadata.distribution("tclbridge").read_text("direct_url.json") or "{}"
    except metadata.PackageNotFoundError:
        return "not installed (run from the source tree)"
    return "editable" if json.loads(direct_url).get("dir_info", {}).get("editable") else "normal"


def make_file(path: Path, size: int) -> Path:
    """A file of `size` random bytes (incompressible, like a real export)."""
    with path.open("wb") as out:
        left = size
        while left:
            piece = min(left, 1 << 20)
            out.write(os.urandom(piece))
            left -= piece
    return path


def versions() -> dict[str, str]:
    """What ran: Python, the Tcl under tkinter, tclsh and tcllib's packages."""
    found = {
        "python": platform.python_version(),
        "bridge Tcl": str(tkinter.Tcl().eval("info patchlevel")),
    }
    probe = "puts [info patchlevel]; puts [package require smtp]; puts [package require mime]"
    proc = subprocess.run(
        [tclsh()], input=probe, capture_output=True, text=True, timeout=60, check=True
    )
    tcl, smtp, mime = proc.stdout.split()
    found.update({"tclsh": tcl, "tcllib smtp": smtp, "tcllib mime": mime})
    return found


def machine() -> dict[str, str]:
    """The CPU, as lscpu tells it, and the kernel."""
    found = {"cpus": str(os.cpu_count()), "kernel": platform.release()}
    try:
        proc = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30)
        for line in proc.stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                found["cpu"] = value.strip()
    except OSError:
        pass
    return found
