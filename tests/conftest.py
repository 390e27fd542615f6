from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tclbridge import Interp
from tclbridge.config import BridgeConfig
from tclbridge.display import find_xvfb, xvfb_display
from tclbridge.recorder import RecordingServer, ServerScript

TCLLIB_PRESENT = shutil.which("tclsh") is not None


def new_interp(timeout_scale: float = 0.01) -> Interp:
    """A bridge interpreter with smtp loaded and tcllib's waits scaled down."""
    bridge = Interp(BridgeConfig(timeout_scale=timeout_scale))
    bridge.eval("package require smtp")
    return bridge


@pytest.fixture
def tcl() -> Iterator[Interp]:
    bridge = new_interp()
    yield bridge
    bridge.close()


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as srv:
        yield srv


def scripted_server(**script: object) -> RecordingServer:
    """A recording server with these ServerScript fields; `with` starts it."""
    return RecordingServer(ServerScript(**script))  # type: ignore[arg-type]


@pytest.fixture
def display() -> Iterator[str]:
    """A real X server (Xvfb), reachable as a desktop's is: by its abstract
    socket from this network namespace and by its /tmp/.X11-unix socket file
    from any."""
    xvfb = find_xvfb()
    assert xvfb, "Xvfb must be installed (scripts/bootstrap.sh does it)"
    with xvfb_display(xvfb, namespace_only=False) as name:
        yield name
