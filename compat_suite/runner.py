"""Differential compat suite: each case under tclsh (tcllib) and under the bridge.

    python -m compat_suite.runner [CASE ...] [--reference-only] [--no-report]

A case is ``cases/NAME.tcl`` plus an optional ``cases/NAME.json``:

- ``server``: ServerScript fields of the server whose port is ``argv[1]``;
- ``extra_servers``: more ServerScripts; their ports follow as argv[2], ...;
- ``compare``: aspects to compare (default: exit, stdout, commands, envelope,
  messages; add "stderr" where the case is about it);
- ``compat``: docs/COMPAT.md entries where the bridge intentionally differs,
  with the expectation for the bridge (see ``compare.apply_compat``);
- ``unmasked_headers``: Date/Message-ID-like headers the case sets itself;
- ``tls``: "starttls" or "implicit": the first server gets a certificate for
  localhost and 127.0.0.1 from a CA made for the run (trustme) and offers
  STARTTLS (added to its capabilities if missing) or speaks TLS from the start;
  an extra server may have its own ``"tls"`` key. The bridge is told to trust
  the CA (``TCLBRIDGE_CAFILE``); tcllib verifies nothing, so needs nothing;
- ``trust_ca``: false to leave that setting out (an untrusted certificate);
- ``timeout``: seconds per run (default 15);
- ``comment``: free text (why the case is set up the way it is).

Every run gets fresh servers. ``--reference-only`` runs tclsh on both sides
(a check that the cases are deterministic and the masking sufficient).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compat_suite.compare import ASPECTS, DEFAULT_ASPECTS, Difference, ObservedRun, compare
from tclbridge.differential.run import TLS_MODES, ServerSpec, run_against_servers
from tclbridge.recorder import ServerScript

SUITE_DIR = Path(__file__).resolve().parent
CASES_DIR = SUITE_DIR / "cases"
REPO_ROOT = SUITE_DIR.parent
REPORT_PATH = SUITE_DIR / "REPORT.md"
COMPAT_DOC = REPO_ROOT / "docs" / "COMPAT.md"
DEFAULT_TIMEOUT = 15.0

_CASE_KEYS = {"comment", "server", "extra_servers", "compare", "compat", "unmasked_headers",
              "timeout", "tls", "trust_ca"}
# Settings of the bridge that would change a run; each run gets them from the case only.
_BRIDGE_ENV = ("TCLBRIDGE_CAFILE", "TCLBRIDGE_TLS_VERIFY", "TCLBRIDGE_ALLOW_PLAINTEXT_AUTH",
               "TCLBRIDGE_OAUTH2_TOKEN_CMD", "SSL_CERT_FILE", "SSL_CERT_DIR")


@dataclass
class Case:
    name: str
    script: Path
    servers: list[dict[str, Any]]
    tls: list[str | None] = field(default_factory=list)  # per server: None or a TLS_MODES item
    trust_ca: bool = True
    aspects: tuple[str, ...] = DEFAULT_ASPECTS
    compat: list[dict[str, Any]] = field(default_factory=list)
    unmasked_headers: list[str] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def load(cls, script: Path) -> Case:
        sidecar = script.with_suffix(".json")
        cfg: dict[str, Any] = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        unknown = set(cfg) - _CASE_KEYS
        if unknown:
            raise ValueError(f"{sidecar.name}: unknown keys {sorted(unknown)}")
        aspects = tuple(cfg.get("compare", DEFAULT_ASPECTS))
        bad = set(aspects) - set(ASPECTS)
        if bad:
            raise ValueError(f"{sidecar.name}: unknown aspects {sorted(bad)}")
        documented = compat_entries()
        for item in cfg.get("compat", []):
            if item.get("entry") not in documented or not item.get("expect"):
                raise ValueError(f"{sidecar.name}: compat items need an entry named in "
                                 f"{COMPAT_DOC.name} and an 'expect' text: {item}")
        servers = [dict(cfg.get("server", {})), *(dict(s) for s in cfg.get("extra_servers", []))]
        tls = [server.pop("tls", None) for server in servers]
        if "tls" in cfg:
            tls[0] = cfg["tls"]
        bad_tls = {mode for mode in tls if mode is not None and mode not in TLS_MODES}
        if bad_tls:
            raise ValueError(f"{sidecar.name}: tls must be one of {TLS_MODES}: {sorted(bad_tls)}")
        for server, mode in zip(servers, tls, strict=True):
            capabilities = server.setdefault("capabilities", [])
            if mode == "starttls" and "STARTTLS" not in capabilities:
                capabilities.append("STARTTLS")
        return cls(
            name=script.stem,
            script=script,
            servers=servers,
            tls=tls,
            trust_ca=bool(cfg.get("trust_ca", True)),
            aspects=aspects,
            compat=list(cfg.get("compat", [])),
            unmasked_headers=list(cfg.get("unmasked_headers", [])),
            timeout=float(cfg.get("timeout", DEFAULT_TIMEOUT)),
        )

    @property
    def compat_entries(self) -> list[str]:
        return [item["entry"] for item in self.compat]


@dataclass
class CaseResult:
    case: Case
    differences: list[Difference]
    error: str | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        return "FAIL" if self.differences else "pass"


def compat_entries() -> set[str]:
    """The entry names of docs/COMPAT.md (first column of its table)."""
    text = COMPAT_DOC.read_text() if COMPAT_DOC.exists() else ""
    return set(re.findall(r"^\| (?:<a id=\"[\w-]+\"></a>)?`([\w-]+)` \|", text, re.MULTILINE))


def discover(names: Sequence[str] = ()) -> list[Case]:
    """The cases, all or those named (by stem, with or without a .tcl suffix)."""
    scripts = sorted(CASES_DIR.glob("*.tcl"))
    if names:
        wanted = [n.removesuffix(".tcl") for n in names]
        by_name = {s.stem: s for s in scripts}
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise SystemExit(f"no such case: {', '.join(missing)}")
        scripts = [by_name[n] for n in wanted]
    return [Case.load(s) for s in scripts]


def tclsh_command() -> list[str]:
    return [shutil.which("tclsh") or "tclsh"]


def bridge_command() -> list[str]:
    return [sys.executable, "-m", "tclbridge", "run"]


def run_case(case: Case, command: Sequence[str]) -> ObservedRun:
    """Run one case with `command` (+ script + host + ports) against fresh servers."""
    modes = [*case.tls, *[None] * (len(case.servers) - len(case.tls))]
    specs = [ServerSpec(ServerScript.from_dict(spec), mode)
             for spec, mode in zip(case.servers, modes, strict=True)]
    env = {k: v for k, v in os.environ.items() if k not in _BRIDGE_ENV}
    return run_against_servers(
        lambda servers: [*command, str(case.script), servers[0].host,
                         *(str(s.port) for s in servers)],
        specs, timeout=case.timeout, env=env, cwd=REPO_ROOT, trust_ca=case.trust_ca)


def check_case(case: Case, *, reference_only: bool = False) -> CaseResult:
    """Run a case on both sides and compare (tclsh twice with `reference_only`)."""
    started = time.monotonic()
    try:
        expected = run_case(case, tclsh_command())
        actual = run_case(case, tclsh_command() if reference_only else bridge_command())

        def differ(reference: ObservedRun) -> list[Difference]:
            return compare(reference, actual, aspects=case.aspects,
                           compat=() if reference_only else case.compat,
                           unmasked_headers=case.unmasked_headers)

        differences = differ(expected)
        if differences:
            # tcllib is not deterministic in one known way: mime 1.7.0 takes a
            # multipart boundary from [clock seconds] twice, so a second that
            # ticks in between gives Content-Type a boundary the body does not
            # use (COMPAT boundary-once). One more reference run tells that
            # apart; the bridge's outcome stays the one compared.
            differences = differ(run_case(case, tclsh_command()))
        return CaseResult(case, differences, seconds=time.monotonic() - started)
    except Exception as error:  # a broken case or harness: report, go on with the others
        return CaseResult(case, [], error=f"{type(error).__name__}: {error}",
                          seconds=time.monotonic() - started)


def write_report(results: Sequence[CaseResult], path: Path, *, reference_only: bool) -> None:
    against = "tclsh (reference-only run)" if reference_only else "the bridge"
    lines = [
        "# Compat suite report",
        "",
        f"Each case ran under tclsh (tcllib) and under {against}; generated by "
        "`python -m compat_suite.runner`.",
        "",
        "| case | result | COMPAT entry | differences |",
        "|---|---|---|---|",
    ]
    for r in results:
        entries = ", ".join(f"`{e}`" for e in r.case.compat_entries) or "-"
        count = "error" if r.error else str(len(r.differences))
        lines.append(f"| {r.case.name} | {r.status} | {entries} | {count} |")
    passed = sum(r.status == "pass" for r in results)
    lines += ["", f"{passed} of {len(results)} cases pass.", ""]
    for r in results:
        if r.status == "pass":
            continue
        lines += [f"## {r.case.name}", ""]
        if r.error:
            lines.append(f"- error: {r.error}")
        lines += [f"- {d.describe(actual_label=_actual_label(reference_only))}".replace("|", "\\|")
                  for d in r.differences]
        lines.append("")
    path.write_text("\n".join(lines))


def _actual_label(reference_only: bool) -> str:
    return "tclsh (2nd run)" if reference_only else "bridge"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compat_suite.runner",
                                     description="Run the tcllib vs bridge compat suite.")
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--reference-only", action="store_true",
                        help="run tclsh on both sides (checks determinism and masking)")
    parser.add_argument("--no-report", action="store_true", help=f"do not write {REPORT_PATH.name}")
    args = parser.parse_args(argv)

    if shutil.which("tclsh") is None:
        print("tclsh not found: the compat suite needs Tcl and tcllib", file=sys.stderr)
        return 2
    cases = discover(args.cases)
    results: list[CaseResult] = []
    label = _actual_label(args.reference_only)
    for case in cases:
        result = check_case(case, reference_only=args.reference_only)
        results.append(result)
        entries = f" [COMPAT: {', '.join(case.compat_entries)}]" if case.compat else ""
        print(f"{result.status:5} {case.name} ({result.seconds:.1f}s){entries}", flush=True)
        if result.error:
            print(f"      error: {result.error}")
        for d in result.differences:
            print(f"      {d.describe(actual_label=label)}")
    passed = sum(r.status == "pass" for r in results)
    print(f"\n{passed} of {len(results)} cases pass"
          f" ({sum(r.status == 'FAIL' for r in results)} fail,"
          f" {sum(r.status == 'ERROR' for r in results)} error)")
    if not args.no_report and not args.cases:
        write_report(results, REPORT_PATH, reference_only=args.reference_only)
        print(f"report: {REPORT_PATH.relative_to(REPO_ROOT)}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
