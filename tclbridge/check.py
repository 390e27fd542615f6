"""`tclbridge check SCRIPT [ARGS...]` for one script: run it under tclsh +
tcllib and under the bridge, each against a fresh capture server on
127.0.0.1 inside the check's private network namespace (tclbridge.sandbox),
and say where they differ. What is compared, masked and labelled is told to
users in check_command's help text; here: secrets are masked on both sides
alike by `hide_secrets`, each run writes an uncaught error's message to the
file $TCLBRIDGE_ERROR_REPORT names, a Tk run gets its display from
tclbridge.display, and each difference a COMPAT entry explains is labelled
by tclbridge.differential.causes. The site policy is not passed on
(TCLBRIDGE_POLICY): tcllib knows none, so its rules would only be
differences."""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from tclbridge import throwaway_ca
from tclbridge.config import ERROR_REPORT_ENV
from tclbridge.differential.causes import BY_NAME, CAUSES, explain
from tclbridge.differential.compare import diff, prepare
from tclbridge.differential.compat import GENERAL_ENTRIES
from tclbridge.differential.masking import Masker, hide_secrets, secrets_of
from tclbridge.differential.outcome import Difference, ObservedRun
from tclbridge.differential.reference import (
    reference_argv,
    write_preamble,
)
from tclbridge.differential.run import ServerSpec, run_against_servers
from tclbridge.display import RunDisplay
from tclbridge.environment import CONFIG_ENV
from tclbridge.host_port import format_host_port
from tclbridge.recorder import RecordingServer, ServerScript
from tclbridge.sandbox import (
    CAPTURE_ENV,
    CaptureEndpoint,
    SendmailShim,
    child_env,
)
from tclbridge.site_policy import POLICY_ENV

DEFAULT_TIMEOUT = 60.0
# Like capture mode: accept everything, offer AUTH so that scripts with
# -username take their usual path, and TLS both ways.
CHECK_SERVER = ServerScript(capabilities=["AUTH PLAIN LOGIN", "STARTTLS"])
CHECK_SERVER_SPEC = ServerSpec(CHECK_SERVER, tls="starttls+implicit")
# The bridge's documented fixes that apply to any script (see docs/COMPAT.md).
CHECK_COMPAT = [{"entry": entry} for entry in GENERAL_ENTRIES]

ASPECT_WORDS = {
    "exit": "exit code",
    "error": "uncaught error",
    "stdout": "standard output",
    "stderr": "standard error",
    "commands": "SMTP commands",
    "envelope": "envelope",
    "messages": "message content",
}


@dataclass
class CheckResult:
    script: str
    args: list[str]
    tcllib: ObservedRun
    bridge: ObservedRun
    differences: list[Difference]  # masked, secrets included
    secrets: frozenset[str] = field(default=frozenset(), repr=False)  # what args must not show
    # Each run's uncaught error message, masked as the differences are.
    errors: dict[str, str | None] = field(default_factory=dict)

    @property
    def timed_out(self) -> list[str]:
        """The runs that were stopped at the timeout: nothing to compare them by."""
        return [name for name, run in (("tcllib", self.tcllib), ("bridge", self.bridge))
                if run.exit is None]

    @property
    def agree(self) -> bool:
        return not self.differences and not self.timed_out

    @property
    def both_failed(self) -> bool:
        """Both runs ended with an uncaught error (the same one, if they agree)."""
        return all(self.errors.get(name) is not None for name in ("tcllib", "bridge"))

    def summary(self) -> str:
        if self.timed_out:
            runs = " and ".join(self.timed_out)
            return (f"incomplete: the {runs} run{'s' if len(self.timed_out) > 1 else ''} "
                    "timed out, so the runs cannot be compared")
        if self.agree and self.both_failed:
            return f"same, but both runs failed: {first_line(self.errors['tcllib'] or '')}"
        if self.agree:
            return f"same: tcllib and the bridge agree ({_shape(self.tcllib)})"
        counts = Counter(ASPECT_WORDS[d.aspect] for d in self.differences)
        detail = ", ".join(f"{n} in {words}" for words, n in counts.items())
        n = len(self.differences)
        explained = [d for d in self.differences if d.causes]
        known = (f"; {len(explained)} explained by tclbridge help compat "
                 f"({', '.join(self.causes)})"
                 if explained else "")
        return f"differ: {n} difference{'s' if n != 1 else ''} ({detail}){known}"

    @property
    def causes(self) -> list[str]:
        """The COMPAT entries that explain some of the differences, in table order."""
        found = {name for d in self.differences for name in d.causes}
        return [cause.name for cause in CAUSES if cause.name in found]

    def to_json(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "args": [hide_secrets(arg, self.secrets) for arg in self.args],
            "agree": self.agree,
            "both_failed": self.both_failed,
            "timed_out": self.timed_out,
            "differences": [{"aspect": d.aspect, "where": d.where, "tcllib": d.expected,
                             "bridge": d.actual, "compat": [_cause_json(name) for name in d.causes]}
                            for d in self.differences],
            "compat": self.causes,
            "summary": self.summary(),
            "runs": {name: {"exit": o.exit, "error": self.errors.get(name),
                            "sessions": len(o.sessions), "messages": len(o.messages)}
                     for name, o in (("tcllib", self.tcllib), ("bridge", self.bridge))},
        }


def _cause_json(name: str) -> dict[str, str]:
    cause = BY_NAME[name]
    return {"name": name, "reason": cause.reason, "doc": cause.link()}


def first_line(text: str, limit: int = 200) -> str:
    """An error message's first line, shortened to `limit` characters: as the
    summary and a fleet's table show it."""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _shape(outcome: ObservedRun) -> str:
    sessions, messages = len(outcome.sessions), len(outcome.messages)
    return (f"exit code {outcome.exit}, {sessions} SMTP session{'s' if sessions != 1 else ''}, "
            f"{messages} message{'s' if messages != 1 else ''} delivered")


def run_check(script: str, args: Sequence[str], *, tclsh: str,
              timeout: float = DEFAULT_TIMEOUT,
              shim: SendmailShim | None = None,
              display: RunDisplay | None = None) -> CheckResult:
    """Run `script` under tclsh + tcllib, then under the bridge, and compare.
    Each run's children (a `tclbridge run`, `shim` as sendmail) send to that
    run's server. `display` gives each run its X display (default: the
    environment's DISPLAY)."""
    displays = display or RunDisplay(None, False, os.environ.get("DISPLAY"))

    def endpoint(servers: Sequence[RecordingServer]) -> CaptureEndpoint:
        first = servers[0]
        assert first.implicit_tls_port is not None
        return CaptureEndpoint((first.host, first.port), (first.host, first.implicit_tls_port),
                               str(ca.cafile))

    def children(servers: Sequence[RecordingServer]) -> dict[str, str]:
        path = {"PATH": os.environ.get("PATH", os.defpath)}
        return child_env(endpoint(servers), shim, base=path)

    def tcllib_argv(servers: Sequence[RecordingServer]) -> list[str]:
        first = servers[0]
        return reference_argv(tclsh, preamble, (first.host, first.port), script, args,
                              implicit_tls_port=first.implicit_tls_port)

    def bridge_argv(servers: Sequence[RecordingServer]) -> list[str]:
        found = endpoint(servers)
        assert found.implicit_tls is not None and found.cafile is not None
        return [sys.executable, "-m", "tclbridge", "run",
                "--server", format_host_port(found.server),
                "--implicit-tls-server", format_host_port(found.implicit_tls),
                "--cafile", found.cafile, script, *args]

    # A capture the check runs under (TCLBRIDGE_CAPTURE) is not the check's,
    # nor are the settings of the user's or the machine's config file.
    without_capture = {**{k: v for k, v in os.environ.items() if k != CAPTURE_ENV},
                       CONFIG_ENV: ""}
    without_policy = {k: v for k, v in without_capture.items() if k != POLICY_ENV}
    with tempfile.TemporaryDirectory(prefix="tclbridge_check_") as tmp:
        # Outside each run's TMPDIR: the preamble, the CA both runs' servers
        # take their certificates from (the bridge trusts it with --cafile),
        # and where each run writes its uncaught error.
        preamble = write_preamble(Path(tmp))
        ca = throwaway_ca.make(Path(tmp))
        reports = {name: Path(tmp, f"{name}.error") for name in ("tcllib", "bridge")}
        with displays.for_run() as x_env:
            tcllib = run_against_servers(
                tcllib_argv, [CHECK_SERVER_SPEC], timeout=timeout,
                env={**without_capture, **x_env, ERROR_REPORT_ENV: str(reports["tcllib"])},
                server_env=children, ca=ca, trust_ca=False)
        with displays.for_run() as x_env:
            bridge = run_against_servers(
                bridge_argv, [CHECK_SERVER_SPEC], timeout=timeout,
                env={**without_policy, **x_env, ERROR_REPORT_ENV: str(reports["bridge"])},
                server_env=children, ca=ca, trust_ca=False)
        tcllib.error, bridge.error = (_uncaught_error(reports[name])
                                      for name in ("tcllib", "bridge"))
    # Both runs parsed once, for the comparison and for its labels.
    prepared = prepare(tcllib, bridge, compat=CHECK_COMPAT)
    differences = explain(tcllib, bridge, diff(*prepared), compat=CHECK_COMPAT,
                          prepared=prepared)
    secrets = frozenset(secrets_of(tcllib) | secrets_of(bridge))
    masker = Masker(secrets=secrets)
    errors = {name: None if run.error is None else masker.stream(run.error, run.substitutions)
              for name, run in (("tcllib", tcllib), ("bridge", bridge))}
    return CheckResult(script, list(args), tcllib, bridge, differences, secrets, errors)


def _uncaught_error(report: Path) -> str | None:
    """The message a run wrote for its uncaught error (UTF-8), if it wrote one."""
    try:
        return report.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return None


# -- output ---------------------------------------------------------------------------


def render(result: CheckResult, width: int) -> str:
    """Each difference with tcllib's and the bridge's value side by side, then the summary."""
    lines = [f"tclbridge check {result.script}: tcllib (tclsh) | bridge (tclbridge run)", ""]
    for n, d in enumerate(result.differences, 1):
        lines += render_difference(n, d, width)
        lines.append("")
    lines.append(result.summary())
    return "\n".join(lines)


def render_difference(n: int, d: Difference, width: int) -> list[str]:
    """The difference's heading, its COMPAT labels, then tcllib's and the
    bridge's value side by side in columns that fit `width`."""
    column = max(20, (width - 7) // 2)
    lines = [f"{n}. {_heading(d)}"]
    lines += [f"   — {BY_NAME[name].label()}" for name in d.causes]
    cells = zip_longest(_cells(d.expected, column), _cells(d.actual, column), fillvalue="")
    rows = [("tcllib", "bridge"), *cells]
    lines += [f"   {a:<{column}} | {b}".rstrip() for a, b in rows]
    return lines


def _heading(difference: Difference) -> str:
    words = ASPECT_WORDS[difference.aspect]
    return words if difference.where == words else f"{words}, {difference.where}"


def _cells(value: str, width: int) -> list[str]:
    return textwrap.wrap(value, width, replace_whitespace=False, drop_whitespace=False) or [""]
