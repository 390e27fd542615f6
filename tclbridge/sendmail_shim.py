"""`sendmail` for hermetic runs (`run --capture`, `check`): reads a message on
stdin, as sendmail does, and hands it over SMTP to the capture server named
by $TCLBRIDGE_CAPTURE_SERVER (HOST:PORT), so that `open |sendmail -t` and
`exec sendmail` mail is captured like the bridge's own.

    sendmail [-t] [-i | -oi] [-f SENDER] [-F NAME] [-oX...] [--] [RECIPIENT...]

-t adds the To, Cc and Bcc addresses to the recipients and removes the Bcc
header; without -i a line holding a single "." ends the message. Exit codes
as sendmail's: 0 sent, 64 usage, 65 no recipients, 75 the server is unreachable
or refused.

Runs as `python -I -S sendmail_shim.py`: the standard library only, so it works
whatever the script did to the environment.
"""

from __future__ import annotations

import getpass
import os
import re
import smtplib
import socket
import sys
from email.utils import getaddresses

EX_USAGE, EX_DATAERR, EX_TEMPFAIL = 64, 65, 75
SERVER_ENV = "TCLBRIDGE_CAPTURE_SERVER"
TIMEOUT = 30.0
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> tuple[bool, bool, str | None, list[str]]:
    """-> (recipients from headers, dot ends input, sender, recipients)."""
    from_headers, dot_ends, sender = False, True, None
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if arg == "-t":
            from_headers = True
        elif arg in ("-i", "-oi"):
            dot_ends = False
        elif arg[:2] in ("-f", "-r", "-F"):
            value = arg[2:]
            if not value:
                i += 1
                if i == len(argv):
                    raise UsageError(f"option {arg} needs a value")
                value = argv[i]
            if arg[:2] != "-F":
                sender = value
        elif arg[:2] in ("-o", "-b", "-v", "-B", "-N", "-R", "-V") and arg != "-bs":
            pass  # delivery options a capture has no use for
        else:
            raise UsageError(f"unsupported option {arg}")
        i += 1
    return from_headers, dot_ends, sender, argv[i:]


def read_message(data: bytes, dot_ends: bool) -> bytes:
    """The message with CRLF line endings, cut at a lone "." line unless -i."""
    lines = _LINE_END.split(data)
    if lines and lines[-1] == b"":
        lines.pop()
    if dot_ends and b"." in lines:
        lines = lines[:lines.index(b".")]
    return b"".join(line + b"\r\n" for line in lines)


def header_recipients(message: bytes) -> tuple[list[str], bytes]:
    """The To/Cc/Bcc addresses and the message without its Bcc header."""
    head, sep, body = message.partition(b"\r\n\r\n")
    fields: list[list[bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    found: list[str] = []
    kept: list[bytes] = []
    for field in fields:
        name, _, value = b"\r\n".join(field).partition(b":")
        if name.strip().lower() in (b"to", b"cc", b"bcc"):
            text = value.decode("utf-8", "replace").replace("\r\n", "")
            found += [addr for _, addr in getaddresses([text]) if addr]
        if name.strip().lower() != b"bcc":
            kept += field
    return found, b"\r\n".join(kept) + sep + body


def server_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{SERVER_ENV} is not HOST:PORT: {text!r}")
    return host.strip("[]"), int(port)


def main(argv: list[str], stdin: bytes) -> int:
    try:
        from_headers, dot_ends, sender, recipients = parse_args(argv)
    except UsageError as exc:
        print(f"sendmail: {exc}", file=sys.stderr)
        return EX_USAGE
    message = read_message(stdin, dot_ends)
    if from_headers:
        found, message = header_recipients(message)
        recipients = recipients + found
    if not recipients:
        print("sendmail: no recipient addresses found", file=sys.stderr)
        return EX_DATAERR
    setting = os.environ.get(SERVER_ENV, "")
    if not setting:
        print(f"sendmail: no capture server ({SERVER_ENV} is not set)", file=sys.stderr)
        return EX_TEMPFAIL
    if sender is None:
        sender = f"{getpass.getuser()}@{socket.gethostname()}"
    try:
        with smtplib.SMTP(*server_address(setting), timeout=TIMEOUT) as client:
            client.sendmail(sender, recipients, message)
    except (OSError, ValueError, smtplib.SMTPException) as exc:
        print(f"sendmail: the capture server did not take the message: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.stdin.buffer.read()))
