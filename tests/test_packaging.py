"""The wheel holds everything an installed tclbridge needs (not only what an
editable install of the source tree finds beside the package)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_every_package_and_the_tcl_shims(tmp_path: Path) -> None:
    # Built from a copy: setuptools builds in place and would leave build/
    # (whose stale files later wheels would ship) in the source tree.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".nox", "build", "*.egg-info", "__pycache__", ".hypothesis", "capture"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("tclbridge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    source_packages = {
        str(init.parent.relative_to(ROOT)) for init in (ROOT / "tclbridge").rglob("__init__.py")
    }
    for package in source_packages:
        assert f"{package}/__init__.py" in names, package
    for shim in (ROOT / "tcl_shims").glob("*.tcl"):
        assert f"tclbridge/_shims/{shim.name}" in names, shim.name
