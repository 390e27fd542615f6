"""The suite's fixtures. Helpers that tests import live in tests/support/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tclbridge import Interp
from tclbridge.capture import Capture
from tclbridge.display import find_xvfb, xvfb_display
from tclbridge.recorder import RecordingServer
from tests.support.interps import new_interp
from tests.support.postfix_harness import REQUIRE_ENV, PostfixRelay, PostfixUnavailable


@pytest.fixture
def tcl() -> Iterator[Interp]:
    bridge = new_interp()
    yield bridge
    bridge.close()


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as srv:
        yield srv


@pytest.fixture
def cap(tmp_path: Path) -> Iterator[Capture]:
    """A capture server writing to tmp_path/out (started by the test)."""
    c = Capture(tmp_path / "out")
    yield c
    c.stop()


@pytest.fixture
def display() -> Iterator[str]:
    """A real X server (Xvfb), reachable as a desktop's is: by its abstract
    socket from this network namespace and by its /tmp/.X11-unix socket file
    from any."""
    xvfb = find_xvfb()
    assert xvfb, "Xvfb must be installed (scripts/bootstrap.sh does it)"
    with xvfb_display(xvfb, namespace_only=False) as name:
        yield name


@pytest.fixture(scope="session")
def postfix_relay() -> Iterator[PostfixRelay]:
    """A running PostfixRelay for the whole session (skips if Postfix cannot be had)."""
    relay = PostfixRelay()
    try:
        relay.start()
    except PostfixUnavailable as error:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"Postfix unavailable and {REQUIRE_ENV}=1: {error}")
        pytest.skip(f"no Postfix for interop tests: {error}")
    try:
        yield relay
    finally:
        relay.stop()
