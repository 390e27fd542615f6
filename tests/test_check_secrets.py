"""`tclbridge check` shows no secret, on either side: the -password value
tcllib's odd-option error quotes back, the password a client sent in AUTH
(heard by the check's server), and its base64 in tcllib's -debug transcript
are masked by one function for tcllib's run and the bridge's alike."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tkinter
from pathlib import Path

import pytest

from tclbridge.differential.compare import compare
from tclbridge.differential.masking import HIDDEN, hide_secrets, secrets_of
from tclbridge.differential.outcome import ASPECTS, Delivered, ObservedRun
from tclbridge.differential.reference import reference_argv, write_preamble
from tclbridge.differential.run import ServerSpec, run_against_servers
from tclbridge.recorder import ServerScript
from tests.support.tcl_lists import list_string, tcl_literal
from tests.support.tcl_programs import HAVE_TCLSH

REPO = Path(__file__).resolve().parent.parent
needs_tcllib = pytest.mark.skipif(not HAVE_TCLSH, reason="needs tclsh and tcllib")

PASSWORD = "s3cret-Pw"
USER = "bob"


def forms(password: str = PASSWORD) -> list[str]:
    """The password as text, and the base64 a client sends for it (alone, and
    in a PLAIN payload)."""
    raw = password.encode()
    return [password, base64.b64encode(raw).decode(),
            base64.b64encode(b"\0" + USER.encode() + b"\0" + raw).decode()]


def assert_hidden(text: str, password: str = PASSWORD) -> None:
    for form in forms(password):
        assert form not in text


# An odd option list: tcllib's error quotes it back whole, -password included,
# and its errorInfo shows it again; the bridge hides it in its error (COMPAT
# auth-hidden), and its errorInfo differs from tcllib's, so the check has a
# difference to show.
ODD_OPTIONS = r"""
package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "hello"]
set rc [catch {
    smtp::sendmessage $tok -servers localhost -recipients a@example.com \
        -username bob -password s3cret-Pw -debug
} result]
puts "rc=$rc result=$result"
puts $::errorInfo
"""


def run_check_cli(script: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "check", *options, str(script)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})


@needs_tcllib
def test_odd_option_list_password_hidden_on_both_sides(tmp_path: Path) -> None:
    script = tmp_path / "odd.tcl"
    script.write_text(ODD_OPTIONS)
    text = run_check_cli(script)
    assert text.returncode == 1, text.stderr  # errorInfo differs: there is something to show
    assert "standard output" in text.stdout
    assert_hidden(text.stdout + text.stderr)
    found = run_check_cli(script, "--json")
    result = json.loads(found.stdout)
    assert result["differences"]
    # The error line agrees once both sides are masked the same way.
    assert not any("Each option must have a value" in d["tcllib"]
                   and "line 1" in d["where"] for d in result["differences"])
    assert_hidden(found.stdout + found.stderr)


AUTH_DEBUG = r"""
package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "hello"]
smtp::sendmessage $tok -servers 127.0.0.1 -recipients a@example.com \
    -header {From b@example.com} -username bob -password $env(CHECK_PASSWORD) -debug 1
puts "sent"
"""


@needs_tcllib
def test_auth_payloads_in_the_debug_transcript_hidden(tmp_path: Path) -> None:
    """Compared on every aspect, stderr too, without the COMPAT entries (as a
    compat-suite case may be): tcllib's -debug transcript carries the base64
    of the password the server heard, the bridge's shows <hidden>."""
    script = tmp_path / "auth.tcl"
    script.write_text(AUTH_DEBUG)
    spec = [ServerSpec(ServerScript(capabilities=["AUTH LOGIN"]))]
    env = {**os.environ, "CHECK_PASSWORD": PASSWORD, "PYTHONPATH": str(REPO)}
    preamble = write_preamble(tmp_path)
    tcllib = run_against_servers(
        lambda s: reference_argv("tclsh", preamble, (s[0].host, s[0].port), str(script), []),
        spec, timeout=60, env=env)
    bridge = run_against_servers(
        lambda s: [sys.executable, "-m", "tclbridge", "run", "--server",
                   f"{s[0].host}:{s[0].port}", str(script)],
        spec, timeout=60, env=env)
    assert tcllib.exit == bridge.exit == 0
    assert base64.b64encode(PASSWORD.encode()).decode() in tcllib.stderr  # the leak is there
    assert tcllib.secrets == bridge.secrets == {PASSWORD}  # heard by the servers
    differences = compare(tcllib, bridge, aspects=ASPECTS)
    shown = "\n".join(str(d) for d in differences)
    assert_hidden(shown)
    # The AUTH lines agree once masked: only other stderr lines may differ.
    assert not any(PASSWORD in d.expected or HIDDEN in d.expected for d in differences)


def test_hide_secrets_forms() -> None:
    plain = base64.b64encode(b"\0bob\0" + PASSWORD.encode()).decode()
    text = (f"list: -servers x -password {PASSWORD} -debug\n"
            "braced: -password {two words} -x\n"
            'quoted: -password "q \\" z" y\n'
            f"--> AUTH PLAIN {plain}\n"
            f"--> {base64.b64encode(PASSWORD.encode()).decode()} (wait upto 300 seconds)\n"
            f"said {PASSWORD}.\n")
    assert hide_secrets(text, {PASSWORD}) == (
        "list: -servers x -password <hidden> -debug\n"
        "braced: -password <hidden> -x\n"
        "quoted: -password <hidden> y\n"
        "--> AUTH PLAIN <hidden>\n"  # the whole token: its ends carry the password's edges
        "--> <hidden> (wait upto 300 seconds)\n"
        "said <hidden>.\n")
    assert hide_secrets("-password <hidden>") == "-password <hidden>"  # as the bridge writes it
    assert hide_secrets("a pass of abc", {"abc"}) == "a pass of abc"  # too short to search


def test_secrets_learned_from_either_run() -> None:
    run = ObservedRun(exit=1, stdout="Invalid option list: -password {my pw} -debug\n",
                  stderr="", sessions=[], messages=[], secrets=frozenset({"heard-in-auth"}))
    assert secrets_of(run) == {"my pw", "heard-in-auth"}
    other = ObservedRun(exit=1, stdout="Invalid option list: -password <hidden> -debug\n",
                    stderr="", sessions=[], messages=[])
    assert secrets_of(other) == set()


def test_hide_secrets_linear_on_long_base64() -> None:
    """A body of megabytes of base64 with the password's fragment at the end:
    one pass (a token-expanding regex would backtrack for minutes)."""
    core = base64.b64encode(PASSWORD.encode()).decode().rstrip("=")
    body = "QUJD" * 500_000 + core + "QUJD" * 10
    assert hide_secrets(body + "\n" + body, {PASSWORD}) == "<hidden>\n<hidden>"
    odd = "-password \"" + "a" * 1_000_000  # unterminated quote: still one pass
    assert hide_secrets(odd) == "-password <hidden>"
    unclosed = "-password {" + "{" * 1_000_000  # an unclosed brace runs to the end
    assert hide_secrets(unclosed + "\nSECRET", {PASSWORD}) == "-password <hidden>"
    many = "-password " * 500_000  # each value is the next option: looked at once
    assert hide_secrets(many + "x") == "-password <hidden> " * 250_000 + "x"


def test_every_compared_value_masked() -> None:
    """Two runs that differ everywhere the password shows: each difference is
    reported, none shows the password (heard in AUTH by the first run's server)."""
    b64 = base64.b64encode(PASSWORD.encode()).decode()

    def run(n: int, secrets: frozenset[str] = frozenset(), code: int | None = None) -> ObservedRun:
        message = (f"Subject: {PASSWORD} {n}\r\nX-Token: {b64}{n}\r\n\r\n"
                   f"pw={PASSWORD} #{n}\r\n").encode()
        return ObservedRun(
            exit=n if code is None else code, stdout=f"logged in with {PASSWORD} ({n})\n",
            stderr=f"--> {b64}\nfailed {n}: {PASSWORD}\n",
            sessions=[[f"AUTH PLAIN {b64}", f"XPW {PASSWORD} {n}"]],
            messages=[Delivered(f"{PASSWORD}{n}@x", [f"b{n}@y"], [], message)],
            secrets=secrets, error=f"failed {n}: {PASSWORD}")

    differences = compare(run(1, frozenset({PASSWORD})), run(2), aspects=ASPECTS)
    # The same exit code: the uncaught errors' messages are compared instead.
    differences += compare(run(1, frozenset({PASSWORD}), code=1), run(2, code=1),
                           aspects=ASPECTS)
    aspects = {d.aspect for d in differences}
    assert aspects == set(ASPECTS), differences
    shown = "\n".join(str(d) for d in differences)
    assert HIDDEN in shown
    assert_hidden(shown)


# Passwords whose Tcl list form is not one simple word: tcllib's odd-option
# error quotes each back braced with nesting, with a newline or CR inside the
# braces, or bare with backslash escapes. Each carries a SECRET... piece.
HOSTILE_PASSWORDS = [
    "a{b} SECRETTAIL",  # nested braces
    "line1\nSECRETLINE",  # a newline inside the braces
    r"pa ss{w}[o]$rd\Z SECRETSUBST",
    "trail SECRETBACK\\",  # a trailing backslash: written bare, escaped
    "shut} SECRETSHUT",  # a lone } (unbalanced: bare, escaped)
    "open{ SECRETOPEN",  # a lone {
    "tab\tSECRETTAB x",
    "cr\rSECRETCR y",
    "pässwörd {ŝecret} SECRETÜNÏ",  # non-ASCII
    "pre -password SECRETINNER {x}",  # the option's name inside the value
    r"back\{slash} SECRETBS",  # a backslashed brace
]
SENT_AFTER = ["-header", "From a@x.org", "-atleastone"]


def pieces(password: str) -> list[str]:
    """What must not be shown: the password, and each of its pieces longer
    than 3 characters (but the option name), as text and as check shows a
    line (Python's repr)."""
    words = [password] + [w for w in password.split() if len(w) > 3 and w != "-password"]
    return sorted({form for w in words for form in (w, repr(w)[1:-1])})


@pytest.mark.parametrize("password", [*HOSTILE_PASSWORDS, "}", "{", "", "a\\\nb c"])
def test_whole_password_word_hidden_and_recovered(password: str) -> None:
    """The whole list element after -password is hidden, as Tcl writes it, and
    its value is recovered exactly (to be searched for everywhere else); the
    bridge's own error ("-password <hidden>") masks to the same text."""
    tk = tkinter.Tcl()
    options = ["-servers", "127.0.0.1", "-password"]
    tcllib = "Invalid option list: " + list_string(tk, *options, password, *SENT_AFTER)
    bridge = "Invalid option list: " + list_string(tk, *options, HIDDEN, *SENT_AFTER)
    assert hide_secrets(tcllib) == hide_secrets(bridge) == bridge
    run = ObservedRun(exit=0, stdout=tcllib + "\n", stderr="", sessions=[], messages=[])
    assert secrets_of(run) == ({password} if password != HIDDEN else set())
    if len(password) >= 4:  # searched for elsewhere, e.g. printed as the script holds it
        assert hide_secrets(f"pw=<{password}>", secrets_of(run)) == "pw=<<hidden>>"


ODD_OPTIONS_HOSTILE = r"""
package require smtp
package require mime
set t [mime::initialize -canonical text/plain -string "hello"]
# A line that differs between the runs (tcllib's smtp is Tcl procs), so each
# result is shown; the equal line between keeps the differences apart.
set differing "procs=[llength [info procs ::smtp::*]]"
foreach pw [list %s] {
    catch {smtp::sendmessage $t -servers 127.0.0.1 -username joe -password $pw \
        -header {From a@x.org} -atleastone} r
    puts "$differing [string range $r [string first -password $r] end]"
    puts "next"
}
"""


@needs_tcllib
def test_hostile_passwords_hidden_whole_on_both_sides(tmp_path: Path) -> None:
    """tcllib quotes each password back in its odd-option error, the bridge
    shows <hidden>: check shows each line with the whole password masked, the
    two sides alike but for the line's differing word, and no piece of any
    password anywhere, in text or --json."""
    script = tmp_path / "hostile.tcl"
    script.write_text(ODD_OPTIONS_HOSTILE % " ".join(tcl_literal(p) for p in HOSTILE_PASSWORDS))
    found = run_check_cli(script, "--json")
    result = json.loads(found.stdout)
    differences = [d for d in result["differences"] if d["aspect"] == "stdout"]
    assert len(differences) == len(HOSTILE_PASSWORDS), result
    for difference in differences:
        shown = [re.sub(r"procs=\d+", "procs=N", difference[side]) for side in ("tcllib", "bridge")]
        assert shown[0] == shown[1] == (
            "'procs=N -password <hidden> -header {From a@x.org} -atleastone\\n'")
    # The bridge's own error shows none of it, before any masking.
    bridge = subprocess.run([sys.executable, "-m", "tclbridge", "run", str(script)],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert bridge.stdout.split("\n") == [
        "procs=1 -password <hidden> -header {From a@x.org} -atleastone", "next",
    ] * len(HOSTILE_PASSWORDS) + [""], bridge.stderr
    text = run_check_cli(script)
    assert text.returncode == 1, text.stderr
    assert text.stdout.count(HIDDEN) >= 2 * len(HOSTILE_PASSWORDS)
    for output in (found.stdout + found.stderr, text.stdout + text.stderr):
        assert "SECRET" not in output
        for password in HOSTILE_PASSWORDS:
            assert [p for p in pieces(password) if p in output] == []
