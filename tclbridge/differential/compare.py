"""Compare two runs of a Tcl mail script, tcllib's (expected) and the bridge's:
apply the COMPAT expectations to tcllib's, mask and parse both, and list each
difference in plain words."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from tclbridge.differential.compat import apply_compat, apply_compat_tree
from tclbridge.differential.masking import Masker, secrets_of
from tclbridge.differential.message import Part
from tclbridge.differential.normalize import Normalized, normalize
from tclbridge.differential.outcome import ASPECTS, DEFAULT_ASPECTS, Difference, Outcome


def _show(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _seq_diff(aspect: str, where: str, expected: Sequence[str],
              actual: Sequence[str], unit: str) -> list[Difference]:
    """Plain-words differences between two sequences of lines."""
    out: list[Difference] = []
    matcher = difflib.SequenceMatcher(a=list(expected), b=list(actual), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        exp, act = list(expected[i1:i2]), list(actual[j1:j2])
        if op == "replace" and len(exp) == len(act):
            for k, (e, a) in enumerate(zip(exp, act, strict=True)):
                out.append(Difference(aspect, f"{where}{unit} {i1 + k + 1}", _show(e), _show(a)))
        elif op == "insert":
            out.append(Difference(aspect, f"{where}after {unit} {i1}", "nothing",
                                  "extra " + "; ".join(_show(a) for a in act)))
        elif op == "delete":
            out.append(Difference(aspect, f"{where}{unit} {i1 + 1}",
                                  "; ".join(_show(e) for e in exp), "nothing (missing)"))
        else:
            out.append(Difference(aspect, f"{where}{unit}s {i1 + 1}-{i2}",
                                  "; ".join(_show(e) for e in exp),
                                  "; ".join(_show(a) for a in act)))
    return out


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _part_diff(path: str, exp: Part, act: Part) -> list[Difference]:
    out = _seq_diff("messages", f"{path}: header ", [f"{n}: {v}" for n, v in exp.headers],
                    [f"{n}: {v}" for n, v in act.headers], "line")
    for label, e, a in (
        ("content type", exp.content_type, act.content_type),
        ("content-type params", exp.params, act.params),
        ("parse defects", exp.defects, act.defects),
        ("preamble", exp.preamble, act.preamble),
        ("epilogue", exp.epilogue, act.epilogue),
    ):
        if e != a:
            out.append(Difference("messages", f"{path}: {label}", _show(e), _show(a)))
    if exp.body != act.body:
        found = _seq_diff("messages", f"{path}: decoded body ",
                          _lines((exp.body or b"").decode("latin-1")),
                          _lines((act.body or b"").decode("latin-1")), "line")
        out += found or [Difference("messages", f"{path}: decoded body", _show(exp.body),
                                    _show(act.body))]
    elif exp.encoded != act.encoded:
        out += _seq_diff("messages", f"{path}: transfer-encoded body ",
                         _lines(exp.encoded or ""), _lines(act.encoded or ""), "line")
    if len(exp.parts) != len(act.parts):
        out.append(Difference("messages", f"{path}: number of subparts", str(len(exp.parts)),
                              str(len(act.parts))))
    for n, (e, a) in enumerate(zip(exp.parts, act.parts, strict=False), 1):
        out += _part_diff(f"{path}, part {n}", e, a)
    return out


def diff(expected: Normalized, actual: Normalized,
         aspects: Iterable[str] = DEFAULT_ASPECTS) -> list[Difference]:
    """All differences between two normalized outcomes, in the given aspects."""
    aspects = set(aspects)
    unknown = aspects - set(ASPECTS)
    if unknown:
        raise ValueError(f"unknown aspects: {sorted(unknown)}")
    out: list[Difference] = []
    exit_differs = "exit" in aspects and expected.exit != actual.exit
    if exit_differs:
        out.append(Difference("exit", "exit code", _exit(expected), _exit(actual)))
    elif "error" in aspects and expected.error != actual.error:
        # The same exit code (1), but each run stopped at a different error.
        out.append(Difference("error", "uncaught error", _error(expected.error),
                              _error(actual.error)))
    for stream in ("stdout", "stderr"):
        if stream in aspects:
            out += _seq_diff(stream, "", _lines(getattr(expected, stream)),
                             _lines(getattr(actual, stream)), "line")
    if "commands" in aspects:
        if len(expected.commands) != len(actual.commands):
            out.append(Difference("commands", "number of SMTP sessions",
                                  str(len(expected.commands)), str(len(actual.commands))))
        for n, (e, a) in enumerate(zip(expected.commands, actual.commands, strict=False), 1):
            out += _seq_diff("commands", f"session {n}, ", e, a, "command")
    if "envelope" in aspects:
        if len(expected.envelope) != len(actual.envelope):
            out.append(Difference("envelope", "number of delivered messages",
                                  str(len(expected.envelope)), str(len(actual.envelope))))
        for n, (e, a) in enumerate(zip(expected.envelope, actual.envelope, strict=False), 1):
            for label, ev, av in zip(("MAIL FROM", "RCPT TO", "MAIL options"), e, a, strict=True):
                if ev != av:
                    out.append(Difference("envelope", f"message {n} {label}", _show(ev), _show(av)))
    if "messages" in aspects:
        if len(expected.messages) != len(actual.messages) and "envelope" not in aspects:
            out.append(Difference("messages", "number of delivered messages",
                                  str(len(expected.messages)), str(len(actual.messages))))
        for n, (e, a) in enumerate(zip(expected.messages, actual.messages, strict=False), 1):
            out += _part_diff(f"message {n}", e, a)
    return out


def _exit(run: Normalized) -> str:
    """The exit code, with the uncaught error's message, or else the last
    stderr line as a hint when it is not 0."""
    shown = "a timeout" if run.exit is None else str(run.exit)
    if run.error is not None:
        return f"{shown} (uncaught error: {_show(run.error)})"
    last = run.stderr.strip().splitlines()[-1:] if run.exit != 0 else []
    return f"{shown} (stderr ends {_show(last[0])})" if last else shown


def _error(message: str | None) -> str:
    return "no uncaught error" if message is None else _show(message)


def compare(expected: Outcome, actual: Outcome, *, aspects: Iterable[str] = DEFAULT_ASPECTS,
            compat: Sequence[dict[str, Any]] = (),
            unmasked_headers: Iterable[str] = ()) -> list[Difference]:
    """Compare a tcllib run (`expected`) with a bridge run, honouring COMPAT entries."""
    masker = Masker(unmasked_headers=frozenset(h.lower() for h in unmasked_headers),
                    secrets=frozenset(secrets_of(expected) | secrets_of(actual)))
    exp = normalize(apply_compat(expected, compat), masker)
    apply_compat_tree(exp, compat)
    return diff(exp, normalize(actual, masker), aspects)
