"""The comparison of how each session was encrypted (check, compat suite): a
session that is TLS in one run and not in the other is a difference; COMPAT
expectations can state it."""

from __future__ import annotations

from tclbridge.differential.compare import compare
from tclbridge.differential.outcome import ObservedRun

COMMANDS = ["EHLO <CLIENT>", "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>", "DATA",
            "QUIT"]


def outcome(*tls: str | None) -> ObservedRun:
    return ObservedRun(exit=0, stdout="", stderr="", sessions=[list(COMMANDS) for _ in tls],
                   messages=[], session_tls=list(tls))


def test_tls_of_each_session_is_compared() -> None:
    assert compare(outcome("starttls"), outcome("starttls")) == []
    (difference,) = compare(outcome("starttls", "implicit"), outcome("starttls", None))
    assert (difference.aspect, difference.where) == ("commands", "session 2, TLS")
    assert (difference.expected, difference.actual) == ("implicit TLS", "plain text")
    (difference,) = compare(outcome(None), outcome("starttls"))
    assert (difference.expected, difference.actual) == ("plain text", "STARTTLS")


def test_unknown_tls_is_not_compared() -> None:
    # An ObservedRun made by hand (no server recorded it) knows no TLS.
    assert compare(outcome(), outcome()) == []
    unknown = outcome(None)
    unknown.session_tls = []
    assert compare(unknown, outcome("implicit")) == []


def test_compat_expectations_carry_tls() -> None:
    tcllib, bridge = outcome("starttls", "starttls"), outcome(None, "starttls")
    assert compare(tcllib, bridge)
    literal = {"entry": "tls-verify", "sessions": [COMMANDS, COMMANDS]}
    # Literal sessions without their TLS: not compared; with it: compared.
    assert compare(tcllib, bridge, compat=[literal]) == []
    assert compare(tcllib, bridge, compat=[{**literal, "session_tls": [None, "starttls"]}]) == []
    (difference,) = compare(tcllib, bridge,
                            compat=[{**literal, "session_tls": ["implicit", "starttls"]}])
    assert difference.where == "session 1, TLS"
    # keep_sessions keeps the TLS of the sessions it keeps.
    assert compare(outcome("implicit", None), outcome(None),
                   compat=[{"entry": "tls-verify", "keep_sessions": [1]}]) == []
