"""Run a command (a Tcl script under tclsh or the bridge) against fresh recording
SMTP servers on 127.0.0.1 and collect what it did as an `ObservedRun`.

Each run gets its own servers and its own TMPDIR; the servers' ports and the
TMPDIR path are recorded as substitutions, so that masking can hide them.
A server may speak TLS ("starttls": offered on request, "implicit": from the
start, "starttls+implicit": offered on request, and from the start on a
second port, `RecordingServer.implicit_tls_port`) with a certificate for
localhost and 127.0.0.1 from a CA made for the run (or given), which the
bridge is told to trust through TCLBRIDGE_CAFILE.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tclbridge import throwaway_ca
from tclbridge.differential.outcome import Delivered, ObservedRun
from tclbridge.recorder import RecordingServer, ServerScript

TLS_MODES = ("starttls", "implicit", "starttls+implicit")
SETTLE_TIMEOUT = 2.0  # wait this long at most for sessions to end after the process exits


@dataclass(frozen=True)
class ServerSpec:
    script: ServerScript = field(default_factory=ServerScript)
    tls: str | None = None  # None or one of TLS_MODES


def _settle(servers: Sequence[RecordingServer]) -> None:
    """Let the servers finish what the client wrote before it exited (RSET/QUIT
    written without waiting): wait until no connection is open."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        if not any(s.open_connections for s in servers):
            return
        time.sleep(0.01)


def run_against_servers(
    argv: Callable[[Sequence[RecordingServer]], Sequence[str]],
    specs: Sequence[ServerSpec],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    trust_ca: bool = True,
    server_env: Callable[[Sequence[RecordingServer]], Mapping[str, str]] | None = None,
    ca: throwaway_ca.ThrowawayCA | None = None,
) -> ObservedRun:
    """Start a server per spec, run ``argv(servers)`` (stdin empty, killed after
    `timeout` seconds) and return what it printed and what the servers recorded.
    ``server_env(servers)``, if given, adds to the environment of the run.
    TLS servers present a certificate from `ca`, or from a CA made for the run;
    with `trust_ca` TCLBRIDGE_CAFILE names its certificate."""
    if not specs:
        raise ValueError("at least one server is needed")
    bad = {s.tls for s in specs if s.tls is not None and s.tls not in TLS_MODES}
    if bad:
        raise ValueError(f"tls must be one of {TLS_MODES}: {sorted(bad)}")
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="tclbridge_run_"))
        run_env = dict(os.environ if env is None else env)
        run_env["TMPDIR"] = tmp
        if ca is None and any(s.tls for s in specs):
            # The CA's certificate lives outside TMPDIR, which the script sees.
            certs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tclbridge_ca_")))
            ca = throwaway_ca.make(certs)
        if ca is not None and trust_ca:
            run_env["TCLBRIDGE_CAFILE"] = str(ca.cafile)
        servers = [
            stack.enter_context(RecordingServer(
                spec.script, tls_context=ca.server_context if ca and spec.tls else None,
                implicit_tls=spec.tls == "implicit",
                implicit_tls_listener=spec.tls == "starttls+implicit"))
            for spec in specs]
        if server_env is not None:
            run_env.update(server_env(servers))
        try:
            proc = subprocess.run(list(argv(servers)), capture_output=True, timeout=timeout,
                                  cwd=cwd, env=run_env, stdin=subprocess.DEVNULL)
            code: int | None = proc.returncode
            stdout, stderr = proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as expired:
            code, stdout, stderr = None, expired.stdout or b"", expired.stderr or b""
        _settle(servers)
        ports = [str(s.port) for s in servers]
        subs = {port: f"<PORT{'' if n == 0 else n + 1}>" for n, port in enumerate(ports)}
        subs.update({str(s.implicit_tls_port): f"<TLSPORT{'' if n == 0 else n + 1}>"
                     for n, s in enumerate(servers) if s.implicit_tls_port is not None})
        subs[tmp] = "<TMPDIR>"
        return ObservedRun(
            exit=code,
            stdout=stdout.decode("utf-8", "replace"),
            stderr=stderr.decode("utf-8", "replace"),
            sessions=[list(rec.commands) for s in servers for rec in s.sessions],
            session_tls=[None if rec.tls is None else rec.tls.mode
                         for s in servers for rec in s.sessions],
            messages=[Delivered(m.mail_from, list(m.rcpt_tos), list(m.mail_options), m.data)
                      for s in servers for m in s.messages],
            substitutions=subs,
            secrets=frozenset(p for s in servers for p in s.passwords),
        )
