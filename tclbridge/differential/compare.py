"""Compare two runs of a Tcl mail script, tcllib's (expected) and the bridge's:
apply the COMPAT expectations to tcllib's, mask and parse both, and list each
difference in plain words."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from tclbridge.differential.compat import apply_compat, apply_compat_tree
from tclbridge.differential.masking import Masker, secrets_of
from tclbridge.differential.message import ComparablePart
from tclbridge.differential.normalize import Normalized, normalize
from tclbridge.differential.outcome import ASPECTS, DEFAULT_ASPECTS, Difference, ObservedRun
from tclbridge.differential.pairing import digest, pairs


def _show(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _seq_diff(aspect: str, where: str, expected: Sequence[str],
              actual: Sequence[str], unit: str) -> list[Difference]:
    """Plain-words differences between two sequences of lines."""
    out: list[Difference] = []
    for op, i1, i2, j1, j2 in _opcodes(expected, actual):
        if op == "equal":
            continue
        exp, act = list(expected[i1:i2]), list(actual[j1:j2])
        texts = ("".join(exp), "".join(act))
        if op == "replace" and len(exp) == len(act):
            for k, (e, a) in enumerate(zip(exp, act, strict=True)):
                out.append(Difference(aspect, f"{where}{unit} {i1 + k + 1}", _show(e), _show(a),
                                      texts=(e, a)))
        elif op == "insert":
            out.append(Difference(aspect, f"{where}after {unit} {i1}", "nothing",
                                  "extra " + "; ".join(_show(a) for a in act), texts=texts))
        elif op == "delete":
            out.append(Difference(aspect, f"{where}{unit} {i1 + 1}",
                                  "; ".join(_show(e) for e in exp), "nothing (missing)",
                                  texts=texts))
        else:
            out.append(Difference(aspect, f"{where}{unit}s {i1 + 1}-{i2}",
                                  "; ".join(_show(e) for e in exp),
                                  "; ".join(_show(a) for a in act), texts=texts))
    return out


# Beyond this many line pairs difflib's matcher (quadratic on many equal
# lines) gives way to the linear pairing sessions and messages use.
_MATCHER_LIMIT = 250_000


def _opcodes(expected: Sequence[str], actual: Sequence[str]
             ) -> Sequence[tuple[str, int, int, int, int]]:
    """difflib-style opcodes: difflib's own for short texts (it groups a
    changed run of lines best), else from the linear pairing."""
    if len(expected) * len(actual) <= _MATCHER_LIMIT:
        matcher = difflib.SequenceMatcher(a=list(expected), b=list(actual), autojunk=False)
        return matcher.get_opcodes()
    found: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    for n, m in pairs(expected, actual):
        if n is not None and m is not None:
            op = "equal" if expected[n] == actual[m] else "replace"
        else:
            op = "delete" if m is None else "insert"
        last = found[-1] if found else None
        if last is not None and last[0] == op:
            found[-1] = (op, last[1], i + (n is not None), last[3], j + (m is not None))
        else:
            found.append((op, i, i + (n is not None), j, j + (m is not None)))
        i += n is not None
        j += m is not None
    return found


def _unpaired(aspect: str, noun: str, n: int | None, m: int | None,
              lines: Sequence[str]) -> Difference:
    """An item (session, message) only one run has; `lines` describe it."""
    shown = "; ".join(_show(line) for line in lines)
    if n is not None:
        return Difference(aspect, f"{noun} {n + 1}", shown, "nothing (missing)",
                          texts=("\n".join(lines), ""))
    assert m is not None
    return Difference(aspect, f"{noun} {m + 1} of the bridge's", "nothing", f"extra {shown}",
                      texts=("", "\n".join(lines)))


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _part_diff(path: str, exp: ComparablePart, act: ComparablePart) -> list[Difference]:
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
    for n, (exp_part, act_part) in enumerate(zip(exp.parts, act.parts, strict=False), 1):
        out += _part_diff(f"{path}, part {n}", exp_part, act_part)
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
    errors = (expected.error or "", actual.error or "")
    if exit_differs:
        out.append(Difference("exit", "exit code", _exit(expected), _exit(actual),
                              texts=errors))
    elif "error" in aspects and expected.error != actual.error:
        # The same exit code (1), but each run stopped at a different error.
        out.append(Difference("error", "uncaught error", _error(expected.error),
                              _error(actual.error), texts=errors))
    for stream in ("stdout", "stderr"):
        if stream in aspects:
            out += _seq_diff(stream, "", _lines(getattr(expected, stream)),
                             _lines(getattr(actual, stream)), "line")
    if "commands" in aspects:
        if len(expected.commands) != len(actual.commands):
            out.append(Difference("commands", "number of SMTP sessions",
                                  str(len(expected.commands)), str(len(actual.commands))))
        # How each session was encrypted (tcllib with tcl-tls takes STARTTLS when
        # offered, as the bridge does); the protocol version is the libraries'.
        for n, m in pairs([digest(s) for s in expected.commands],
                          [digest(s) for s in actual.commands]):
            if n is None or m is None:
                session = _either(expected.commands, actual.commands, n, m)
                out.append(_unpaired("commands", "session", n, m, session))
                continue
            if expected.commands[n] != actual.commands[m]:
                out += _seq_diff("commands", f"session {n + 1}, ", expected.commands[n],
                                 actual.commands[m], "command")
            if n < len(expected.tls) and m < len(actual.tls) and expected.tls[n] != actual.tls[m]:
                out.append(Difference("commands", f"session {n + 1}, TLS", expected.tls[n],
                                      actual.tls[m]))
    # Messages are matched by their envelope and content.
    matched = pairs(_message_keys(expected), _message_keys(actual))
    if "envelope" in aspects:
        if len(expected.envelope) != len(actual.envelope):
            out.append(Difference("envelope", "number of delivered messages",
                                  str(len(expected.envelope)), str(len(actual.envelope))))
        for n, m in matched:
            if n is None or m is None:
                envelope = _either(expected.envelope, actual.envelope, n, m)
                out.append(_unpaired("envelope", "message", n, m, _envelope_lines(envelope)))
                continue
            e, a = expected.envelope[n], actual.envelope[m]
            for label, ev, av in zip(("MAIL FROM", "RCPT TO", "MAIL options"), e, a, strict=True):
                if ev != av:
                    out.append(Difference("envelope", f"message {n + 1} {label}", _show(ev),
                                          _show(av), texts=(str(ev), str(av))))
    if "messages" in aspects:
        if len(expected.messages) != len(actual.messages) and "envelope" not in aspects:
            out.append(Difference("messages", "number of delivered messages",
                                  str(len(expected.messages)), str(len(actual.messages))))
        for n, m in matched:
            if n is not None and m is not None:
                out += _part_diff(f"message {n + 1}", expected.messages[n], actual.messages[m])
            elif "envelope" not in aspects:
                envelope = _either(expected.envelope, actual.envelope, n, m)
                out.append(_unpaired("messages", "message", n, m, _envelope_lines(envelope)))
    return out


Envelope = tuple[str, list[str], list[str]]
T = TypeVar("T")


def _either(expected: Sequence[T], actual: Sequence[T], n: int | None, m: int | None) -> T:
    """The item of a pair that has only one side."""
    if n is not None:
        return expected[n]
    assert m is not None
    return actual[m]


def _message_keys(run: Normalized) -> list[bytes]:
    """Each delivered message's envelope and parsed content, as a digest."""
    return [digest((*envelope, part)) for envelope, part
            in zip(run.envelope, run.messages, strict=True)]


def _envelope_lines(envelope: Envelope) -> list[str]:
    sender, recipients, _ = envelope
    return [f"MAIL FROM:<{sender}>", *(f"RCPT TO:<{r}>" for r in recipients)]


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


def masker_for(expected: ObservedRun, actual: ObservedRun, unmasked_headers: Iterable[str] = ()
               ) -> Masker:
    """The masking both runs get: the same random values and the secrets of either."""
    return Masker(unmasked_headers=frozenset(h.lower() for h in unmasked_headers),
                  secrets=frozenset(secrets_of(expected) | secrets_of(actual)))


def prepare(expected: ObservedRun, actual: ObservedRun, *, compat: Sequence[dict[str, Any]] = (),
            unmasked_headers: Iterable[str] = ()) -> tuple[Normalized, Normalized]:
    """Both runs masked alike and parsed, tcllib's (`expected`) with the COMPAT
    expectations applied: what `diff` compares."""
    masker = masker_for(expected, actual, unmasked_headers)
    exp = normalize(apply_compat(expected, compat), masker)
    apply_compat_tree(exp, compat)
    return exp, normalize(actual, masker)


def compare(expected: ObservedRun, actual: ObservedRun, *, aspects: Iterable[str] = DEFAULT_ASPECTS,
            compat: Sequence[dict[str, Any]] = (),
            unmasked_headers: Iterable[str] = ()) -> list[Difference]:
    """Compare a tcllib run (`expected`) with a bridge run, honouring COMPAT entries."""
    return diff(*prepare(expected, actual, compat=compat, unmasked_headers=unmasked_headers),
                aspects)
