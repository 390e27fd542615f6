"""noxfile.py finds each Python version under pyenv or on PATH, and skips one that
is absent or unusable with a line saying so instead of failing (CI included).

Each test runs the real nox on the real noxfile with a pyenv tree and a PATH of
its own making; the interpreters in them are this test's own Python (linked, or
behind a wrapper that breaks one thing), so no test depends on what is
installed here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THIS = f"{sys.version_info.major}.{sys.version_info.minor}"
REAL_PYTHON = os.path.realpath(sys.executable)


def run_nox(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """nox with PYENV_ROOT=tmp_path/pyenv and PATH=tmp_path/bin only, as on CI."""
    (tmp_path / "pyenv" / "versions").mkdir(parents=True, exist_ok=True)
    (tmp_path / "bin").mkdir(exist_ok=True)
    report = tmp_path / "report.json"
    env = {**os.environ, "PYENV_ROOT": str(tmp_path / "pyenv"),
           "PATH": str(tmp_path / "bin"), "CI": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"),
         "--envdir", str(tmp_path / "envs"), "--report", str(report), *args],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    return result, (json.loads(report.read_text()) if report.exists() else {})


def listed_pythons(tmp_path: Path) -> dict[str, str | bool]:
    env = {**os.environ, "PYENV_ROOT": str(tmp_path / "pyenv"), "PATH": str(tmp_path / "bin")}
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--list", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=True)
    return {entry["name"]: entry["python"] for entry in json.loads(listed.stdout)}


def pyenv_python(tmp_path: Path, patch_version: str) -> Path:
    path = tmp_path / "pyenv" / "versions" / patch_version / "bin" / f"python{THIS}"
    path.parent.mkdir(parents=True)
    return path


def wrapper(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_every_version_absent_is_skipped_with_a_line_and_the_run_passes(
        tmp_path: Path) -> None:
    result, report = run_nox(tmp_path)
    assert result.returncode == 0, result.stderr
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"python {version} not found: skipped" in result.stderr
    assert [(s["name"], s["result"]) for s in report["sessions"]] == [
        ("tests-3.10", "skipped"), ("tests-3.11", "skipped"),
        ("tests-3.12", "skipped"), ("tests-3.13", "skipped")]


def test_the_newest_pyenv_patch_release_is_used(tmp_path: Path) -> None:
    # 10 > 9 as numbers, not as text.
    for patch in ("9", "10", "2"):
        pyenv_python(tmp_path, f"{THIS}.{patch}").symlink_to(REAL_PYTHON)
    newest = tmp_path / "pyenv" / "versions" / f"{THIS}.10" / "bin" / f"python{THIS}"
    assert listed_pythons(tmp_path)[f"tests-{THIS}"] == str(newest)


def test_a_python_on_path_is_used_when_pyenv_has_none(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / f"python{THIS}").symlink_to(REAL_PYTHON)
    (tmp_path / "pyenv" / "versions").mkdir(parents=True)
    assert listed_pythons(tmp_path)[f"tests-{THIS}"] == str(tmp_path / "bin" / f"python{THIS}")


def test_a_shim_that_cannot_run_the_version_counts_as_absent(tmp_path: Path) -> None:
    # pyenv's shims: present on PATH for every version, exit 127 unless selected.
    wrapper(tmp_path / "bin" / f"python{THIS}",
            f'echo "pyenv: python{THIS}: command not found" >&2; exit 127')
    assert listed_pythons(tmp_path)[f"tests-{THIS}"] is False
    result, report = run_nox(tmp_path, "-s", f"tests-{THIS}")
    assert result.returncode == 0, result.stderr
    assert f"python {THIS} not found: skipped" in result.stderr
    assert report["sessions"][0]["result"] == "skipped"


def test_a_python_without_tkinter_is_skipped_saying_so(tmp_path: Path) -> None:
    broken = tmp_path / "no_tk"
    broken.mkdir()
    (broken / "tkinter.py").write_text("raise ImportError('no tkinter here')\n")
    python = wrapper(pyenv_python(tmp_path, f"{THIS}.0"),
                     f'PYTHONPATH={broken} exec {REAL_PYTHON} "$@"')
    result, report = run_nox(tmp_path, "-s", f"tests-{THIS}")
    assert result.returncode == 0, result.stderr
    assert f"python {THIS} ({python}) has no tkinter or venv: skipped" in result.stderr
    assert report["sessions"][0]["result"] == "skipped"


def test_a_python_without_tkinter_gives_way_to_one_with_it(tmp_path: Path) -> None:
    broken = tmp_path / "no_tk"
    broken.mkdir()
    (broken / "tkinter.py").write_text("raise ImportError('no tkinter here')\n")
    wrapper(pyenv_python(tmp_path, f"{THIS}.0"), f'PYTHONPATH={broken} exec {REAL_PYTHON} "$@"')
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / f"python{THIS}").symlink_to(REAL_PYTHON)
    assert listed_pythons(tmp_path)[f"tests-{THIS}"] == str(tmp_path / "bin" / f"python{THIS}")
