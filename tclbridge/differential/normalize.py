"""An `ObservedRun` with the random parts masked and each message parsed."""

from __future__ import annotations

from dataclasses import dataclass

from tclbridge.differential.masking import Masker
from tclbridge.differential.message import ComparablePart, parse_message
from tclbridge.differential.outcome import ObservedRun

TLS_WORDS = {None: "plain text", "starttls": "STARTTLS", "implicit": "implicit TLS"}


@dataclass
class Normalized:
    exit: int | None
    error: str | None  # the uncaught error's message, masked like stderr
    stdout: str
    stderr: str
    commands: list[list[str]]
    tls: list[str]  # per session, in words; empty: not known
    envelope: list[tuple[str, list[str], list[str]]]
    messages: list[ComparablePart]


def normalize(outcome: ObservedRun, masker: Masker) -> Normalized:
    subs = outcome.substitutions
    return Normalized(
        exit=outcome.exit,
        error=None if outcome.error is None else masker.stream(outcome.error, subs),
        stdout=masker.stream(outcome.stdout, subs),
        stderr=masker.stream(outcome.stderr, subs),
        commands=[[masker.command(c, subs) for c in s] for s in outcome.sessions],
        tls=[TLS_WORDS.get(mode, str(mode)) for mode in outcome.session_tls],
        envelope=[(masker.hide(m.mail_from), [masker.hide(r) for r in m.rcpt_tos],
                   [masker.text(o, subs) for o in m.mail_options]) for m in outcome.messages],
        messages=[parse_message(m.data, masker) for m in outcome.messages],
    )
