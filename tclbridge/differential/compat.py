"""tcllib's outcome turned into what the bridge does instead, where docs/COMPAT.md
says the bridge differs on purpose. Each named transform is one COMPAT entry."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from tclbridge.differential.message import stuff, unstuff
from tclbridge.differential.normalize import Normalized
from tclbridge.differential.outcome import ObservedRun

_CTE_TWICE = re.compile(
    rb"(?m)^(Content-Transfer-Encoding: ([^\r\n]*)\r\n(?:(?!\r\n)[^\r\n]*\r\n)*?)"
    rb"Content-Transfer-Encoding: \2\r\n")
_BOUNDARY_TWICE = re.compile(
    rb"(boundary=\"([^\"\r\n]*)\")\r\n;\r\n[ \t]+boundary=\"\2\"")


def _cte_once(data: bytes) -> bytes:
    """tcllib writes Content-Transfer-Encoding before and after Content-Type; keep the first."""
    return _CTE_TWICE.sub(rb"\1", data)


def _boundary_once(data: bytes) -> bytes:
    """mime 1.7.0 repeats the boundary parameter on a ";" line; write it once."""
    return _BOUNDARY_TWICE.sub(rb"\1", data)


def _bare_cr(data: bytes) -> bytes:
    """Every bare CR and bare LF becomes CRLF; lines that now start with "." get stuffed."""
    content = unstuff(data)
    content = re.sub(rb"\r(?!\n)|(?<!\r)\n", b"\r\n", content)
    return stuff(content)


# "=2E" only comes from the dot-line map (quoted-printable leaves "." alone).
_QP_DOT_JOINED = re.compile(rb"(?<=[^\n])=2E\r\n")


def _qp_dot_line(data: bytes) -> bytes:
    """tcllib's quoted-printable writes "X\\n.\\nY" as "X=2E\\nY"; the bridge
    keeps the line break: "X\\n=2E\\nY". (Exact while the joined line is
    shorter than tcllib's 73-character soft-break limit.)"""
    return _QP_DOT_JOINED.sub(b"\r\n=2E\r\n", data)


_DATA_TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "cte-once": _cte_once,
    "boundary-once": _boundary_once,
    "bare-cr": _bare_cr,
    "qp-dot-line": _qp_dot_line,
}


def _token_restored(norm: Normalized) -> None:
    """The caller's token is left unchanged, so every resend carries the first send's headers."""
    if not norm.messages:
        return
    first = norm.messages[0]
    for msg in norm.messages[1:]:
        if msg.content_type == first.content_type:
            msg.headers = list(first.headers)


_TREE_TRANSFORMS: dict[str, Callable[[Normalized], None]] = {"token-restored": _token_restored}

_DEBUG_SENT = re.compile(r"^--> (?P<text>.*?)(?P<wait> \(wait upto \d+ seconds\))?$")
_AUTH_INITIAL = re.compile(r"^(AUTH \S+) \S+$", re.IGNORECASE)


def _auth_hidden(text: str) -> str:
    """-debug transcript: each AUTH client payload (a line sent right after a 334
    reply) becomes "<hidden>", and "AUTH X <initial response>" "AUTH X <hidden>"."""
    out: list[str] = []
    after_334 = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        sent = _DEBUG_SENT.match(body)
        if sent:
            wait = sent.group("wait") or ""
            initial = _AUTH_INITIAL.match(sent.group("text"))
            if after_334:
                body = f"--> <hidden>{wait}"
            elif initial:
                body = f"--> {initial.group(1)} <hidden>{wait}"
        after_334 = body.startswith("<-- 334")
        out.append(body + end)
    return "".join(out)


_STREAM_TRANSFORMS: dict[str, Callable[[str], str]] = {"auth-hidden": _auth_hidden}

# Entries whose expectation follows from tcllib's outcome alone, so they hold for
# any script (the others need a case to say what the bridge does instead).
GENERAL_ENTRIES = ("cte-once", "boundary-once", "bare-cr", "qp-dot-line", "auth-hidden")


def apply_compat(outcome: ObservedRun, compat: Sequence[dict[str, Any]]) -> ObservedRun:
    """Run-level part of the COMPAT expectations (before masking).

    Each item: ``entry`` (a docs/COMPAT.md name; cte-once, boundary-once,
    bare-cr and qp-dot-line rewrite tcllib's DATA, token-restored its resent headers, auth-hidden
    the AUTH payloads in its stdout/stderr transcript) and optionally ``stdout``/
    ``stderr`` (the literal expected text), ``stdout_replace`` ([old, new]
    pairs), ``exit``, ``keep_sessions`` / ``keep_messages`` (indices of
    tcllib's sessions / messages the bridge should also produce), ``sessions``
    (the literal command lines of each session, "EHLO <CLIENT>" for the
    client's own name) with ``session_tls`` (each session's TLS: "starttls",
    "implicit" or null; left out, TLS is not compared).
    """
    result = replace(outcome, sessions=[list(s) for s in outcome.sessions],
                     messages=list(outcome.messages), session_tls=list(outcome.session_tls))
    for item in compat:
        entry = item["entry"]
        if "keep_sessions" in item:
            kept = [i for i in item["keep_sessions"] if i < len(result.sessions)]
            result.sessions = [result.sessions[i] for i in kept]
            if result.session_tls:
                result.session_tls = [result.session_tls[i] for i in kept]
        if "sessions" in item:
            result.sessions = [list(s) for s in item["sessions"]]
            result.session_tls = list(item.get("session_tls", []))
        if "keep_messages" in item:
            result.messages = [result.messages[i] for i in item["keep_messages"]
                               if i < len(result.messages)]
        transform = _DATA_TRANSFORMS.get(entry)
        if transform is not None:
            result.messages = [replace(m, data=transform(m.data)) for m in result.messages]
        for stream in ("stdout", "stderr"):
            stream_transform = _STREAM_TRANSFORMS.get(entry)
            if stream_transform is not None:
                setattr(result, stream, stream_transform(getattr(result, stream)))
            if stream in item:
                setattr(result, stream, item[stream])
            for old, new in item.get(f"{stream}_replace", []):
                setattr(result, stream, getattr(result, stream).replace(old, new))
        if "exit" in item:
            result.exit = item["exit"]
    return result


def only_in_tree(entry: str) -> bool:
    """The entry changes nothing but tcllib's parsed messages (its transform
    runs after parsing and replaces parts' attributes): it can be applied to
    a copy of an outcome already parsed."""
    return (entry in _TREE_TRANSFORMS and entry not in _DATA_TRANSFORMS
            and entry not in _STREAM_TRANSFORMS)


def apply_compat_tree(norm: Normalized, compat: Sequence[dict[str, Any]]) -> None:
    """Tree-level part of the COMPAT expectations (after masking and parsing)."""
    for item in compat:
        transform = _TREE_TRANSFORMS.get(item["entry"])
        if transform is not None:
            transform(norm)
