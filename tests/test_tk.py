"""A Tk window stays responsive while a send waits on a slow server (on a
real X server: Xvfb, started here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.conftest import new_interp, scripted_server


@pytest.fixture
def display() -> Iterator[str]:
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb must be installed (scripts/bootstrap.sh does it)"
    for number in range(91, 120):
        if not os.path.exists(f"/tmp/.X11-unix/X{number}"):
            break
    name = f":{number}"
    proc = subprocess.Popen(
        [xvfb, name, "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
            assert time.monotonic() < deadline, "Xvfb did not start"
            assert proc.poll() is None, "Xvfb exited"
            time.sleep(0.05)
        yield name
    finally:
        proc.terminate()
        proc.wait(5)


def test_window_handles_events_during_send(display: str, monkeypatch) -> None:
    monkeypatch.setenv("DISPLAY", display)
    with scripted_server(delays={"DOT": 1.0}) as srv:
        tcl = new_interp(timeout_scale=1)
        tcl.eval("package require Tk; label .l -text idle; pack .l; update")
        tcl.eval(
            "set ::configured 0\n"
            "bind . <Configure> {incr ::configured}\n"
            "after 200 {wm geometry . 300x200}\n"
            "after 400 {.l configure -text busy; update idletasks;"
            " set ::shown [winfo reqwidth .l]}"
        )
        tcl.eval("set tok [mime::initialize -canonical text/plain -string hi]")
        before = time.monotonic()
        tcl.eval(f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {srv.port} -header {{To a@x}}")
        assert time.monotonic() - before >= 1.0
        # Window-system events were dispatched while the send was waiting.
        assert int(tcl.eval("set ::configured")) > 0
        assert tcl.eval("winfo geometry .").startswith("300x200")
        assert tcl.eval("info exists ::shown") == "1"
        tcl.eval("destroy .")
