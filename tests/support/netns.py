"""Running a piece of a test in a private network and mount namespace, with
a hosts file of its own: real resolver answers (a name with several
addresses) and real addresses (127.0.0.2, ...) that exist only there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _unshare_command() -> list[str] | None:
    if shutil.which("unshare") is None:
        return None
    base = ["unshare", "--mount", "--net"]
    if os.geteuid() != 0:
        base.insert(1, "--map-root-user")
    probe = subprocess.run([*base, "true"], capture_output=True, timeout=30)
    return base if probe.returncode == 0 else None


UNSHARE = _unshare_command()
WHY_NOT = "no private network namespace here (unshare -mn failed)"


def run_python(code: str, hosts: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `code` with this Python in a fresh namespace: loopback up, and
    `hosts` (lines of /etc/hosts) bind-mounted over /etc/hosts."""
    assert UNSHARE is not None, WHY_NOT
    with tempfile.TemporaryDirectory() as tmp:
        hosts_file = Path(tmp) / "hosts"
        hosts_file.write_text("127.0.0.1 localhost\n" + hosts)
        script = Path(tmp) / "inside.py"
        script.write_text(code)
        setup = (
            f"mount --bind {hosts_file} /etc/hosts && ip link set lo up && "
            f'exec "{sys.executable}" {script}'
        )
        env = dict(os.environ, PYTHONPATH=str(REPO))
        return subprocess.run(
            [*UNSHARE, "sh", "-c", setup], capture_output=True, text=True, timeout=timeout,
            env=env, cwd=REPO,
        )
