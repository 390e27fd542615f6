"""One Tcl script under tclsh + tcllib and under the bridge (`tclbridge run`),
each against its own fresh RecordingServers on 127.0.0.1, with what
each printed and what each server received, comparable for equality."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tclbridge.differential.compat import apply_compat
from tclbridge.differential.run import ServerSpec, run_against_servers
from tclbridge.recorder import ServerScript

HAVE_TCLSH = shutil.which("tclsh") is not None
_RANDOM_HEADER = re.compile(
    rb"^((?:Resent-)?(?:Date|Message-ID)|Content-ID): [^\r\n]*", re.IGNORECASE | re.MULTILINE
)
_SIZE = re.compile(r" SIZE=\d+")


@dataclass
class Run:
    exit: int | None
    stdout: str
    stderr: str
    sessions: list[list[str]]  # client command lines (SIZE= masked: COMPAT size-bytes)
    messages: list[bytes]  # as delivered, made-up header values masked


def run(
    script: Path,
    *,
    bridge: bool,
    timeout: float = 60,
    servers: Sequence[ServerScript] = (ServerScript(),),
    env: Mapping[str, str] | None = None,
) -> Run:
    """`script HOST PORT ...` (a port per server in `servers`) under the
    bridge or under tclsh, with `env` added to the environment. tcllib's
    messages get the COMPAT entries every script sees (cte-once, bare-cr...)."""
    command = [sys.executable, "-m", "tclbridge", "run"] if bridge else ["tclsh"]
    outcome = run_against_servers(
        lambda started: [*command, str(script), started[0].host,
                         *(str(server.port) for server in started)],
        [ServerSpec(server) for server in servers], timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )
    if not bridge:
        outcome = apply_compat(outcome, [{"entry": "cte-once"}, {"entry": "bare-cr"}])
    return Run(
        exit=outcome.exit,
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        sessions=[[_SIZE.sub(" SIZE=<N>", c) for c in s] for s in outcome.sessions],
        messages=[_RANDOM_HEADER.sub(rb"\1: <MASKED>", m.data) for m in outcome.messages],
    )
