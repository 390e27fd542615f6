"""The `sendmail` of hermetic runs: sendmail's command line and input rules,
delivering to a real recording server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge import sendmail_shim
from tclbridge.recorder import RecordingServer

SHIM = Path(sendmail_shim.__file__)


def sendmail(*args: str, stdin: bytes,
             server: RecordingServer | None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin"}
    if server is not None:
        env["TCLBRIDGE_CAPTURE_SERVER"] = f"{server.host}:{server.port}"
    return subprocess.run([sys.executable, "-I", "-S", str(SHIM), *args], input=stdin,
                          capture_output=True, timeout=30, env=env)


def test_recipients_from_headers_and_arguments() -> None:
    message = (b"From: App <app@example.com>\nTo: A <a@example.com>, b@example.com\n"
               b"Bcc: secret@example.com,\n  other@example.com\nSubject: s\n\nbody\n")
    with RecordingServer() as server:
        done = sendmail("-t", "-f", "bounce@example.com", "arg@example.com", stdin=message,
                        server=server)
    assert done.returncode == 0, done.stderr
    sent = server.messages[0]
    assert sent.mail_from == "bounce@example.com"
    assert sent.rcpt_tos == ["arg@example.com", "a@example.com", "b@example.com",
                             "secret@example.com", "other@example.com"]
    assert sent.content == (b"From: App <app@example.com>\r\nTo: A <a@example.com>, "
                            b"b@example.com\r\nSubject: s\r\n\r\nbody\r\n")


@pytest.mark.parametrize(("args", "content"), [
    ((), b"Subject: s\r\n\r\nbefore\r\n"),
    (("-i",), b"Subject: s\r\n\r\nbefore\r\n.\r\nafter\r\n"),
    (("-oi",), b"Subject: s\r\n\r\nbefore\r\n.\r\nafter\r\n"),
])
def test_a_lone_dot_ends_the_message_unless_i(args: tuple[str, ...], content: bytes) -> None:
    with RecordingServer() as server:
        done = sendmail(*args, "-fa@example.com", "to@example.com",
                        stdin=b"Subject: s\n\nbefore\n.\nafter\n", server=server)
    assert done.returncode == 0, done.stderr
    assert server.messages[0].content == content
    assert server.messages[0].mail_from == "a@example.com"


def test_no_recipients_no_server_and_bad_options_fail_as_sendmail_does() -> None:
    with RecordingServer() as server:
        assert sendmail("-t", stdin=b"Subject: none\n\nx\n", server=server).returncode == 65
        assert sendmail("-bs", stdin=b"", server=server).returncode == 64
        assert server.sessions == []
    unset = sendmail("to@example.com", stdin=b"x\n", server=None)
    assert unset.returncode == 75
    assert b"TCLBRIDGE_CAPTURE_SERVER is not set" in unset.stderr


def test_an_unreachable_server_is_a_temporary_failure() -> None:
    with RecordingServer() as server:
        pass  # stopped: its port is closed
    done = sendmail("to@example.com", stdin=b"x\n", server=server)
    assert done.returncode == 75
    assert done.stderr.startswith(b"sendmail: the capture server did not take the message")
