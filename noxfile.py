"""The test suite on every supported Python: one nox session per version.

    nox                  # tests-3.10 ... tests-3.13, one after the other
    nox -s tests-3.12    # one version
    nox -s tests-3.12 -- tests/test_cli.py   # arguments after -- replace `tests`

Each version is looked for under pyenv (~/.pyenv/versions/X.Y.Z/bin/pythonX.Y,
the newest patch release first) and then on PATH. A version that is not found,
or whose Python has no tkinter, is skipped with a line saying so; it does not
fail the run. (pyenv's shims on PATH answer for every version but fail unless
pyenv selects it, so each candidate is asked for its version before use.)

The sessions run one after the other, not in parallel: the suite has tests
that measure time, and servers and X displays of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

VERSIONS = ("3.10", "3.11", "3.12", "3.13")
PYTEST = ("-m", "pytest", "-q", "-p", "no:cacheprovider")

nox.options.sessions = [f"tests-{version}" for version in VERSIONS]


def _patch_level(path: Path) -> tuple[int, ...]:
    """(12, 1) for .../versions/3.12.1/bin/python3.12; a pre-release sorts as its digits."""
    return tuple(int(part) for part in re.findall(r"\d+", path.parents[1].name))


def _candidates(version: str) -> list[str]:
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    under_pyenv = sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"),
                         key=_patch_level, reverse=True)
    on_path = shutil.which(f"python{version}")
    return [str(path) for path in under_pyenv] + ([on_path] if on_path else [])


def _reports(python: str, program: str) -> str | None:
    """What `python -c program` prints, or None if it cannot run it."""
    try:
        result = subprocess.run([python, "-c", program], capture_output=True, text=True,
                                timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def find_python(version: str) -> tuple[str | None, str]:
    """(interpreter, "") when found and usable, else (None, why it is skipped)."""
    why = f"python {version} not found"
    for python in _candidates(version):
        if _reports(python, "import sys; print('%d.%d' % sys.version_info[:2])") != version:
            continue
        if _reports(python, "import tkinter, venv") is None:
            why = f"python {version} ({python}) has no tkinter or venv"
            continue
        return python, ""
    return None, why


def _tests_session(version: str) -> None:
    python, why_skipped = find_python(version)

    # No interpreter: a session without a virtualenv (python=False) that says why
    # and skips, so the run goes on and ends green if the other versions pass.
    @nox.session(name=f"tests-{version}", python=python or False)
    def tests(session: nox.Session) -> None:
        if python is None:
            session.warn(f"{why_skipped}: skipped")
            session.skip(why_skipped)
        # ci: nox itself, for tests/test_noxfile.py; ui: the web viewer's libraries.
        session.install("-e", ".[test,ci,ui]")
        session.run("python", *PYTEST, *(session.posargs or ["tests"]))


for _version in VERSIONS:
    _tests_session(_version)
