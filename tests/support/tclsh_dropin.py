"""tclbridge-tclsh started as an installed one is: a launcher like the
console script pip writes (running this source tree, so no PYTHONPATH is
needed), and a directory holding it as `tclsh`, to put first on PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent

_LAUNCHER = """#!{python}
import sys
sys.path.insert(0, {repo!r})
from tclbridge.tclsh import entry
entry()
"""


def tclsh_directory(where: Path) -> Path:
    """`where`/bin, holding `tclbridge-tclsh` and `tclsh`, a symlink to it."""
    bin_dir = where / "bin"
    bin_dir.mkdir(parents=True)
    launcher = bin_dir / "tclbridge-tclsh"
    launcher.write_text(_LAUNCHER.format(python=sys.executable, repo=str(REPO)))
    launcher.chmod(0o755)
    (bin_dir / "tclsh").symlink_to(launcher.name)
    return bin_dir


def path_with(bin_dir: Path | None) -> str:
    """$PATH with `bin_dir` first (None: $PATH as it is, for the real tclsh)."""
    path = os.environ.get("PATH", os.defpath)
    return path if bin_dir is None else f"{bin_dir}{os.pathsep}{path}"
