"""X displays for Tk scripts run by `tclbridge check`.

A script that loads Tk needs an X server. check runs both implementations
in a private network namespace (tclbridge.sandbox), where the abstract unix
sockets of the desktop's X server and every TCP display (`localhost:10`
from `ssh -X`) are out of reach; Xlib falls back to the socket file in
/tmp/.X11-unix, which works from any network namespace.
An X server is also a way out of the sandbox: Tk's `send` runs commands in
any other Tk program on the same display. So when Xvfb is installed each
run gets a private one, listening only inside the namespace, and the host's
X sockets are hidden from the runs; without Xvfb the user's DISPLAY is
passed on as it is.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

XVFB_INSTALL = "apt-get install -y xvfb"
# Where Xlib looks for a local display's socket file; hidden from check's runs.
X_SOCKET_DIR = "/tmp/.X11-unix"
START_TIMEOUT = 10.0  # seconds Xvfb may take to accept connections
STOP_TIMEOUT = 5.0
# The screen both runs see, so that `winfo screenwidth .` agrees.
SCREEN = "1280x1024x24"


class DisplayError(Exception):
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
    argv = _ended_with_this_thread(argv)
    errors = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(argv, pass_fds=(write_fd,), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errors)
    except OSError as exc:
        os.close(read_fd)
        errors.close()
        raise DisplayError(f"cannot start Xvfb: {exc.strerror or exc}") from None
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


def _ended_with_this_thread(argv: list[str]) -> list[str]:
    """A process killed by SIGTERM or SIGKILL runs no `finally`: Xvfb must
    not outlive it. setpriv (util-linux) asks the kernel to send it SIGTERM
    when the thread that started it ends (PR_SET_PDEATHSIG, kept across
    exec); Python's preexec_fn could do the same, but is unsafe with threads."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *argv] if setpriv else argv


def _display_number(read_fd: int, deadline: float) -> str | None:
    """The number Xvfb writes (digits and a newline) when it is ready; None
    if it exits first or misses the deadline."""
    text = b""
    ready = select.poll()  # not select(): any descriptor number
    ready.register(read_fd, select.POLLIN)
    while not text.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not ready.poll(left * 1000):
            return None
        chunk = os.read(read_fd, 16)
        if not chunk:
            return None
        text += chunk
        if len(text) > 16:
            return None
    number = text.strip().decode("ascii", "replace")
    return number if number.isdigit() else None


# Tk's errors when `package require Tk` cannot open the display.
_NO_DISPLAY = re.compile(r'^(couldn\'t connect to display "[^"\n]*"'
                         r"|no display name and no \$DISPLAY environment variable)$")


def tk_display_error(exit_code: int | None, stderr: str) -> str | None:
    """Tk's error text when a run ended on an uncaught failure to open the X
    display (errorInfo on stderr, exit 1); else None."""
    if exit_code != 1:
        return None
    lines = stderr.splitlines()
    for line, after in zip(lines, lines[1:], strict=False):
        if _NO_DISPLAY.match(line) and after.startswith("    while executing"):
            return line
    return None


@dataclass(frozen=True)
class RunDisplay:
    """Where the X display of each of check's runs comes from."""

    xvfb: str | None  # Xvfb: each run gets a private display
    namespace_only: bool  # the runs are in a private network namespace
    user_display: str | None  # $DISPLAY, passed on when there is no Xvfb
    mounts: bool = True  # the host's X sockets can be hidden (a private mount namespace)

    @classmethod
    def choose(cls, environ: Mapping[str, str], *, private_network: bool,
               private_mounts: bool = True) -> RunDisplay:
        return cls(find_xvfb(), private_network, environ.get("DISPLAY") or None,
                   private_mounts)

    @property
    def hide(self) -> tuple[str, ...]:
        """Host directories the runs must not see: with a private display,
        the desktop's X socket files (the display a user sees, and every Tk
        program on it that `send` could drive)."""
        return (X_SOCKET_DIR,) if self.xvfb and self.namespace_only and self.mounts else ()

    @property
    def tcp_unreachable(self) -> bool:
        """The user's display is a TCP one (`localhost:10` from ssh -X), which
        the runs' private network namespace cannot reach."""
        host = (self.user_display or "").rpartition(":")[0]
        return self.namespace_only and host not in ("", "unix") and not host.startswith("/")

    def warning(self) -> str | None:
        """The line to print at start when the runs share the user's display."""
        if self.xvfb and self.namespace_only and not self.mounts and self.user_display:
            return (f"tclbridge: warning: your X display {self.user_display} cannot be hidden "
                    "from the runs (no private mount namespace); a program on it is outside "
                    "the sandbox")
        if self.xvfb or not self.user_display or self.tcp_unreachable:
            return None
        return (f"tclbridge: warning: Xvfb is not installed, so a Tk script's windows open "
                f"on your display {self.user_display}, outside the sandbox "
                f"(install it: {XVFB_INSTALL})")

    @contextlib.contextmanager
    def for_run(self) -> Iterator[dict[str, str]]:
        """The environment a run's X display needs (started here, stopped
        when the block ends)."""
        if self.xvfb is None:
            yield {}
            return
        with xvfb_display(self.xvfb, namespace_only=self.namespace_only) as name:
            yield {"DISPLAY": name}

    def unusable(self, error: str) -> str:
        """Why a Tk script could not run under check, and the way out, in one line."""
        if self.xvfb:
            return f"the script needs Tk, and the private X display failed ({error})"
        way_out = f"install Xvfb ({XVFB_INSTALL}) and check gives each run a private display"
        if self.user_display is None:
            return f"the script needs Tk, and DISPLAY is not set; {way_out}"
        if self.tcp_unreachable:
            return (f"the script needs Tk, and DISPLAY={self.user_display} is a TCP display "
                    f"(ssh -X?), which check's private network namespace cannot reach; "
                    f"{way_out}")
        return f"the script needs Tk, and the X display cannot be used ({error}); {way_out}"


class CaptureDisplay:
    """The X display of a script run under `run --capture`.

    The desktop's X server is outside the sandbox: Tk's `send` runs commands
    in any Tk program on it, and any client can type into a terminal there,
    so a script that reaches it could send mail the capture never sees. So
    by default its socket files are hidden from the script (the abstract
    sockets already are, in the private network namespace) and, when the
    user has a display and Xvfb is installed, the script gets a private one
    instead: a Tk tool runs, without showing its windows. `allow` (the
    user's --allow-display) keeps the user's display, with a warning."""

    def __init__(self, environ: Mapping[str, str], *, network: bool, mounts: bool,
                 allow: bool) -> None:
        self.user_display = environ.get("DISPLAY") or None
        self.allow = allow
        self.hide: tuple[str, ...] = () if allow or not mounts else (X_SOCKET_DIR,)
        # The user's display stays reachable through its socket file.
        self.reachable = allow or (network and not mounts)
        self.private: str | None = None
        self._running = contextlib.ExitStack()
        self._network = network

    def warning(self) -> str | None:
        """The line to print at start, if any."""
        if self.user_display is None or not self.reachable:
            return None
        how = "--allow-display" if self.allow else "no private mount namespace to hide it"
        return (f"tclbridge: warning: the script can reach your X display {self.user_display} "
                f"({how}); a program on it is outside the sandbox, and mail sent through it "
                "is not captured")

    def start(self) -> dict[str, str]:
        """Start the private display when one is wanted; the environment the
        script then needs."""
        xvfb = find_xvfb()
        if self.reachable or self.user_display is None or xvfb is None:
            return {}
        self.private = self._running.enter_context(
            xvfb_display(xvfb, namespace_only=self._network))
        return {"DISPLAY": self.private}

    def stop(self) -> None:
        self._running.close()

    def note(self) -> str | None:
        """Said when a Tk script's windows are on the private display."""
        if self.private is None:
            return None
        return (f"tclbridge: under --capture the script's windows are on a private X display "
                f"and not shown; --allow-display shows them on {self.user_display}, outside "
                "the sandbox")

    def hint(self) -> str | None:
        """Said when Tk could not open a display because capture hid it."""
        if (self.user_display is None or self.reachable or self.private is not None
                or not self.hide):
            return None
        return ("tclbridge: under --capture the script cannot reach your X display (a program "
                f"there is outside the sandbox): install Xvfb ({XVFB_INSTALL}) for a private "
                "one, or use --allow-display")
