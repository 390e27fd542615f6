"""The X display of a script under `run --capture`: the user's display is
outside the sandbox (Tk's `send` drives any Tk program there, which can send
mail the capture never sees), so by default the script cannot reach it and
gets a private Xvfb instead; --allow-display keeps the user's, with a
warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge.display import XVFB_INSTALL
from tests.support.reference_runs import HAVE_TCLSH
from tests.support.x_displays import (
    LIMIT,
    REACH_OUT,
    desktop_with_outside_program,
    environment,
    path_without_xvfb,
)

REPO = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.skipif(not HAVE_TCLSH, reason="tclsh is not installed"),
              pytest.mark.usefixtures("display")]


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", *args], capture_output=True, text=True,
        cwd=cwd, timeout=LIMIT, stdin=subprocess.DEVNULL, env={**env, "PYTHONPATH": str(REPO)})


def test_a_captured_script_cannot_drive_programs_on_the_users_display(tmp_path: Path) -> None:
    marker = tmp_path / "reached"
    (tmp_path / "reach.tcl").write_text(REACH_OUT)
    with desktop_with_outside_program(tmp_path, marker) as desktop:
        done = run("--capture", "cap", "reach.tcl", desktop, cwd=tmp_path,
                   env=environment(desktop))
    assert (done.returncode, marker.exists()) == (0, False), done.stdout + done.stderr
    # Its windows are on a private display of the capture's namespace.
    assert done.stdout.startswith("screen :"), done.stdout
    assert done.stdout != f"screen {desktop}.0\n"


def test_allow_display_keeps_the_users_display_and_says_so(tmp_path: Path) -> None:
    marker = tmp_path / "reached"
    (tmp_path / "reach.tcl").write_text(REACH_OUT)
    with desktop_with_outside_program(tmp_path, marker) as desktop:
        done = run("--capture", "cap", "--allow-display", "reach.tcl", desktop, cwd=tmp_path,
                   env=environment(desktop))
    assert (done.returncode, marker.exists()) == (13, True), done.stdout + done.stderr
    assert done.stderr.splitlines()[0] == (
        f"tclbridge: warning: the script can reach your X display {desktop} "
        "(--allow-display); a program on it is outside the sandbox, and mail sent through it "
        "is not captured")


def test_a_tk_tool_under_capture_runs_on_the_private_display(tmp_path: Path,
                                                             display: str) -> None:
    (tmp_path / "tool.tcl").write_text(
        "package require Tk\nbutton .b -text Send -command {puts clicked; destroy .}\n"
        "pack .b\nafter 200 {.b invoke}\n")
    done = run("--capture", "cap", "tool.tcl", cwd=tmp_path, env=environment(display))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "clicked\n"
    assert done.stderr.splitlines()[0] == (
        "tclbridge: under --capture the script's windows are on a private X display and not "
        f"shown; --allow-display shows them on {display}, outside the sandbox")


def test_without_xvfb_tk_fails_with_a_hint(tmp_path: Path, display: str) -> None:
    (tmp_path / "tool.tcl").write_text("package require Tk\n")
    env = environment(display, path_without_xvfb(tmp_path / "bin"))
    done = run("--capture", "cap", "tool.tcl", cwd=tmp_path, env=env)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == f'couldn\'t connect to display "{display}"', done.stderr
    assert (
        "tclbridge: under --capture the script cannot reach your X display (a program there "
        f"is outside the sandbox): install Xvfb ({XVFB_INSTALL}) for a private one, or use "
        "--allow-display") in lines


def test_without_a_mount_namespace_the_display_is_said_to_be_reachable() -> None:
    """Where the X sockets cannot be hidden (a network namespace without a
    mount namespace), check and capture say the display is reachable."""
    from tclbridge.display import CaptureDisplay, RunDisplay

    captured = CaptureDisplay({"DISPLAY": ":3"}, network=True, mounts=False, allow=False)
    assert captured.hide == ()
    assert captured.warning() == (
        "tclbridge: warning: the script can reach your X display :3 (no private mount "
        "namespace to hide it); a program on it is outside the sandbox, and mail sent "
        "through it is not captured")
    hidden = CaptureDisplay({"DISPLAY": ":3"}, network=True, mounts=True, allow=False)
    assert (hidden.hide, hidden.warning()) == (("/tmp/.X11-unix",), None)
    checked = RunDisplay("/usr/bin/Xvfb", True, ":3", mounts=False)
    assert checked.hide == ()
    assert checked.warning() == (
        "tclbridge: warning: your X display :3 cannot be hidden from the runs (no private "
        "mount namespace); a program on it is outside the sandbox")
