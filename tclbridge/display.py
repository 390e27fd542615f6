"""X displays for Tk scripts run by `tclbridge check`.

A script that loads Tk needs an X server. check runs both implementations
in a private network namespace (tclbridge.sandbox), where the abstract unix
sockets of the desktop's X server and every TCP display (`localhost:10`
from `ssh -X`) are out of reach; only its /tmp/.X11-unix socket file is not.
An X server is also a way out of the sandbox: Tk's `send` runs commands in
any other Tk program on the same display. So when Xvfb is installed each
run gets a private one, listening only inside the namespace, and the host's
X sockets are hidden from the runs; without Xvfb the user's DISPLAY is
passed on as it is.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator

XVFB_INSTALL = "apt-get install -y xvfb"
# Where Xlib looks for a local display's socket file; hidden from check's runs.
X_SOCKET_DIR = "/tmp/.X11-unix"
START_TIMEOUT = 10.0  # seconds Xvfb may take to accept connections
STOP_TIMEOUT = 5.0
# The screen both runs see, so that `winfo screenwidth .` agrees.
SCREEN = "1280x1024x24"


class DisplayError(OSError):
    """Xvfb could not be started."""


def find_xvfb() -> str | None:
    return shutil.which("Xvfb")


@contextlib.contextmanager
def xvfb_display(program: str, *, namespace_only: bool,
                 timeout: float = START_TIMEOUT) -> Iterator[str]:
    """Run Xvfb until the block ends; yield its DISPLAY (":N").

    `namespace_only`: listen only on the abstract unix socket, which exists
    in this process's network namespace alone, and take no lock file in
    /tmp (the display number is then private to the namespace: the first
    free one, :0 for runs one after the other). Otherwise Xvfb also makes
    its /tmp/.X11-unix socket, as a desktop's X server does. Xvfb says which
    number it took, once it accepts connections, on a pipe (-displayfd)."""
    read_fd, write_fd = os.pipe()
    argv = [program, "-displayfd", str(write_fd), "-screen", "0", SCREEN, "-nolisten", "tcp"]
    if namespace_only:
        argv += ["-nolisten", "unix", "-nolock"]
    errors = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(argv, pass_fds=(write_fd,), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errors)
    except OSError as exc:
        os.close(read_fd)
        errors.close()
        raise DisplayError(exc.errno, f"cannot start Xvfb: {exc.strerror or exc}") from None
    finally:
        os.close(write_fd)
    try:
        number = _display_number(read_fd, time.monotonic() + timeout)
        if number is None:
            proc.kill()
            proc.wait()
            errors.seek(0)
            last = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
            raise DisplayError(f"Xvfb did not start ({last[0] if last else 'no output'})")
        yield f":{number}"
    finally:
        os.close(read_fd)
        errors.close()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _display_number(read_fd: int, deadline: float) -> str | None:
    """The number Xvfb writes (digits and a newline) when it is ready; None
    if it exits first or misses the deadline."""
    text = b""
    while not text.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([read_fd], [], [], left)[0]:
            return None
        chunk = os.read(read_fd, 16)
        if not chunk:
            return None
        text += chunk
        if len(text) > 16:
            return None
    number = text.strip().decode("ascii", "replace")
    return number if number.isdigit() else None
