"""Capture directories for the viewer's tests, written by the real capture
server (tclbridge.capture.Capture): either what a Tcl script sends under
`tclbridge run --capture`, or raw messages an SMTP client (smtplib) hands
it, so hostile content reaches the files exactly as a client could send it."""

from __future__ import annotations

import smtplib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tclbridge.capture import Capture


def capture_raw(directory: Path, messages: Sequence[tuple[str, Sequence[str], bytes]]) -> None:
    """Each (sender, recipients, message bytes) delivered to a capture of `directory`."""
    with Capture(directory) as capture:
        assert capture.endpoint is not None
        host, port = capture.endpoint.server
        with smtplib.SMTP(host, port, timeout=30) as client:
            for sender, recipients, data in messages:
                client.sendmail(sender, list(recipients), data)


def capture_script(directory: Path, script: Path, *args: str, options: Sequence[str] = (),
                   env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`tclbridge run OPTIONS --capture DIR SCRIPT ARGS...`, bounded."""
    result = subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", *options, "--capture", str(directory),
         str(script), *args], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return result


# A multipart/mixed message as the bridge's mime builds it: a text and an
# HTML alternative (the HTML with a script that would change the title and a
# DOM node, and an image from `remote`), then a binary attachment.
MULTIPART_SCRIPT = r"""
package require mime
package require smtp
lassign $argv remote attachment
set f [open $attachment rb]; set bytes [read $f]; close $f
set html [mime::initialize -canonical text/html -string "<p id='greeting'>Hello <b>from HTML</b></p>
<script>document.title = 'script ran';
document.getElementById('greeting').textContent = 'script ran';
try { parent.document.title = 'script ran' } catch (e) {}</script>
<img src='$remote/pixel.png' alt='remote'>"]
set text [mime::initialize -canonical text/plain -string "Hello from text"]
set alt [mime::initialize -canonical multipart/alternative -parts [list $text $html]]
set att [mime::initialize -canonical application/octet-stream -param {name report.bin} \
    -header {Content-Disposition {attachment; filename="report.bin"}} -string $bytes]
set top [mime::initialize -canonical multipart/mixed -parts [list $alt $att]]
smtp::sendmessage $top -servers mail.example.com -originator reports@example.com \
    -recipients ops@example.com -header {Subject {Nightly <report>}} \
    -header {From reports@example.com} -header {To ops@example.com}
"""

# One plain message sent with AUTH (the password must never show).
AUTH_SCRIPT = r"""
package require mime
package require smtp
lassign $argv user password
set tok [mime::initialize -canonical text/plain -string "with auth"]
smtp::sendmessage $tok -servers mail.example.com -username $user -password $password \
    -originator auth@example.com -recipients ops@example.com -header {Subject {With AUTH}}
"""

# Under a policy denying rivals.example: one message with a refused recipient
# (sent to the other), one whose every recipient is refused (not sent).
POLICY = '[recipients]\ndeny_domains = ["rivals.example"]\n'
POLICY_SCRIPT = r"""
package require mime
package require smtp
foreach {to atleastone} {{a@example.com, b@rivals.example} 1 {e@rivals.example} 0} {
    set tok [mime::initialize -canonical text/plain -string "policy"]
    smtp::sendmessage $tok -servers mail.example.com -originator ops@example.com \
        -recipients $to -atleastone $atleastone -header {Subject {Under policy}}
}
"""

# One small message; argv: the Subject.
SMALL_SCRIPT = r"""
package require mime
package require smtp
set tok [mime::initialize -canonical text/plain -string "small"]
smtp::sendmessage $tok -servers mail.example.com -originator live@example.com \
    -recipients ops@example.com -header [list Subject [lindex $argv 0]]
"""
