"""`tclbridge check` of scripts that use TLS and AUTH: the check's server offers
STARTTLS, and implicit TLS on a second port where -tlsimport connections go;
tcllib (with tcl-tls) and the bridge (trusting the check's CA) both run
their TLS paths for real, and each session's TLS is compared."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge.check import run_check
from tclbridge.differential.reference import find_tclsh, tcllib_missing

REPO = Path(__file__).resolve().parent.parent
TCLSH = find_tclsh()
TCL_TLS = TCLSH is not None and subprocess.run(
    [TCLSH], input="puts [package require tls]", capture_output=True, text=True,
    timeout=30).stdout.strip() != ""
needs_tcllib_and_tls = pytest.mark.skipif(
    tcllib_missing(TCLSH) is not None or not TCL_TLS, reason="needs tclsh, tcllib and tcl-tls")

PASSWORD = "Tls-s3cret-Pw"

SEND = r"""
package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "hello\n"]
set result [smtp::sendmessage $tok -servers mail.example.invalid -ports @PORT@ \
    -originator ops@example.com -recipients team@example.com -header {Subject TLS} \
    -username bob -password @PASSWORD@ @OPTIONS@]
puts "result: $result"
"""

# A -tlspolicy proc: tcllib calls it only when STARTTLS is refused, the bridge
# also for a certificate it cannot verify; here neither.
POLICY_PROC = r"""
proc policy {code diagnostic} { puts "policy asked: $code"; return secure }
"""


def script(tmp_path: Path, options: str, port: int = 25, prelude: str = "") -> Path:
    path = tmp_path / "tls.tcl"
    path.write_text(prelude + SEND.replace("@PORT@", str(port)).replace(
        "@PASSWORD@", PASSWORD).replace("@OPTIONS@", options))
    return path


@needs_tcllib_and_tls
@pytest.mark.parametrize(("options", "port", "tls", "first"), [
    ("", 587, "starttls", ["EHLO <CLIENT>", "STARTTLS", "EHLO <CLIENT>", "AUTH LOGIN"]),
    ("-tlsimport 1", 465, "implicit", ["EHLO <CLIENT>", "AUTH LOGIN"]),
    ("-usetls 0 -debug 1", 25, None, ["EHLO <CLIENT>", "AUTH LOGIN"]),
    ("-tlspolicy policy", 587, "starttls",
     ["EHLO <CLIENT>", "STARTTLS", "EHLO <CLIENT>", "AUTH LOGIN"]),
], ids=["starttls", "tlsimport", "usetls-0", "tlspolicy"])
def test_tls_paths_run_and_agree(tmp_path: Path, options: str, port: int, tls: str | None,
                                 first: list[str]) -> None:
    prelude = POLICY_PROC if "tlspolicy" in options else ""
    path = script(tmp_path, options, port, prelude)
    assert TCLSH is not None
    result = run_check(str(path), [], tclsh=TCLSH, timeout=60)
    assert result.agree, [str(d) for d in result.differences]
    for outcome in (result.tcllib, result.bridge):
        assert outcome.exit == 0, outcome.stderr
        assert outcome.stdout == "result: \n"  # no -tlspolicy call either
        assert outcome.session_tls == [tls]
        (commands,) = outcome.sessions
        shown = ["EHLO <CLIENT>" if c.startswith("EHLO ") else c for c in commands]
        assert shown[:len(first)] == first
        assert len(outcome.messages) == 1
        assert PASSWORD in outcome.secrets  # the server heard it, inside TLS or not
    if tls is None:
        # The server offered STARTTLS; -usetls 0 kept both off it.
        assert re.search(r"^<-- 250[- ]STARTTLS$", result.tcllib.stderr, re.MULTILINE)


# Only the bridge's run prints the password (raw and as AUTH PLAIN's base64):
# a difference whose values the check must show as <hidden>. The check knows
# the password because its server heard it in AUTH, inside TLS.
LEAKY = r"""
if {[namespace exists ::tclbridge]} {
    puts "password @PASSWORD@ plain [binary encode base64 "\0bob\0@PASSWORD@"]"
}
"""


@needs_tcllib_and_tls
@pytest.mark.parametrize(("options", "port"), [("", 587), ("-tlsimport 1", 465)],
                         ids=["starttls", "tlsimport"])
def test_no_password_in_the_output(tmp_path: Path, options: str, port: int) -> None:
    path = script(tmp_path, options, port)
    path.write_text(path.read_text() + LEAKY.replace("@PASSWORD@", PASSWORD))
    forms = [PASSWORD, base64.b64encode(f"\0bob\0{PASSWORD}".encode()).decode()]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outputs = []
    for mode in ([], ["--json"]):
        done = subprocess.run([sys.executable, "-m", "tclbridge", "check", *mode, str(path)],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 1, done.stdout + done.stderr
        outputs.append(done.stdout + done.stderr)
    text, raw_json = outputs
    result = json.loads(raw_json)
    assert [(d["aspect"], d["bridge"]) for d in result["differences"]] == [
        ("stdout", "extra 'password <hidden> plain <hidden>\\n'")]
    assert result["runs"]["tcllib"] == result["runs"]["bridge"] == {
        "exit": 0, "error": None, "sessions": 1, "messages": 1}
    assert text.count("<hidden>") == 2  # (the text output wraps the value in columns)
    for form in forms:
        assert form not in text and form not in raw_json
