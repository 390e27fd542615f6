"""Running a command without the power to ignore file permissions, so that a
chmod 000 directory is really unreadable to it.

As root (the test machines run the suite as root), permissions are not
checked for reading: the command then runs in a new user namespace with
root mapped to uid/gid 1000 (`unshare --user --map-user=1000
--map-group=1000`). There it owns the files root owns, with the same mode
bits, but holds no capability over them once it has exec'd a program as a
uid other than 0, so 000 means no access. As any other user the command runs
as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess

_IN_USER_NAMESPACE = ["unshare", "--user", "--map-user=1000", "--map-group=1000", "--"]


def _prefix() -> list[str] | None:
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run([*_IN_USER_NAMESPACE, "true"], capture_output=True, timeout=30)
    return _IN_USER_NAMESPACE if probe.returncode == 0 else None


PREFIX = _prefix()
WHY_NOT = "running as root and no user namespace here (unshare --user failed)"


def unprivileged(argv: list[str]) -> list[str]:
    """`argv`, to be run by someone whom file permissions bind."""
    assert PREFIX is not None, WHY_NOT
    return [*PREFIX, *argv]
