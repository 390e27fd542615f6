"""A legacy script, unchanged, authenticates and sends through a real
Postfix (STARTTLS with a test CA, Cyrus SASL) via `tclbridge run`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postfix_harness import PostfixRelay

pytestmark = pytest.mark.postfix
REPO = Path(__file__).resolve().parent.parent

LEGACY_SCRIPT = r"""
package require smtp
package require mime
lassign $argv host port user pass
set tok [mime::initialize -canonical text/plain -string "Nightly report\n.\nAll green.\n"]
mime::setheader $tok Subject "Nightly report"
set rc [catch {
    smtp::sendmessage $tok -servers [list $host] -ports [list $port] \
        -username $user -password $pass -debug 1 \
        -header [list From "Reports <reports@example.org>"] \
        -header [list To ops@example.org]
} res]
puts "rc=$rc res=$res"
mime::finalize $tok
"""


def run_script(tmp_path: Path, relay: PostfixRelay, *extra: str) -> subprocess.CompletedProcess:
    script = tmp_path / "nightly.tcl"
    script.write_text(LEGACY_SCRIPT)
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", *extra, str(script),
         "localhost", str(relay.port), relay.username, relay.password],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_legacy_script_through_postfix(tmp_path: Path, postfix_relay: PostfixRelay) -> None:
    seen = len(postfix_relay.messages)
    out = run_script(tmp_path, postfix_relay, "--cafile", str(postfix_relay.ca_file))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "rc=0 res=\n"
    [message] = postfix_relay.wait_for_message(since=seen)
    assert message.rcpt_tos == ["ops@example.org"]
    assert message.mail_from == "reports@example.org"
    assert b"Subject: Nightly report" in message.content
    assert b"with ESMTPSA" in message.content  # authenticated, over TLS
    # A lone "." line goes out as "=2E" on a line of its own (COMPAT qp-dot-line).
    assert message.content.endswith(b"Nightly report\r\n=2E\r\nAll green.\r\n")
    # The transcript shows the TLS upgrade and AUTH, never the password.
    assert "--> STARTTLS" in out.stderr and "<-- 235 " in out.stderr
    assert postfix_relay.password not in out.stderr + out.stdout


def test_untrusted_postfix_certificate_is_refused(
    tmp_path: Path, postfix_relay: PostfixRelay
) -> None:
    seen = len(postfix_relay.messages)
    out = run_script(tmp_path, postfix_relay)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("rc=1 res=TLS certificate of localhost could not be verified")
    assert len(postfix_relay.messages) == seen
