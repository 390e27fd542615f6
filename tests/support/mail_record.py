"""What a RecordingServer received, with the values that differ from run to
run masked, so that two runs (Tcl command vs Python API, or the steps of a
migration) can be compared for equality."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tclbridge.recorder import RecordingServer
from tests.support.waiting import wait_until_closed

# Header values made up per run: dates, message and content ids.
_RANDOM_HEADER = re.compile(
    rb"^((?:Resent-)?(?:Date|Message-ID)|Content-ID): [^\r\n]*(\r\n[ \t][^\r\n]*)*",
    re.IGNORECASE | re.MULTILINE,
)
# Boundaries mime makes up (TcllibLayout.boundary_prefix + base64).
_BOUNDARY = re.compile(rb"----- =_[A-Za-z0-9+/=]+")
_SIZE = re.compile(r"\bSIZE=\d+")


def mask_message(data: bytes) -> bytes:
    data = _RANDOM_HEADER.sub(lambda m: m.group(1) + b": <MASKED>", data)
    return _BOUNDARY.sub(b"<BOUNDARY>", data)


@dataclass
class Received:
    sessions: list[list[str]]  # each connection's client commands
    envelopes: list[tuple[str, list[str]]]  # (MAIL FROM, RCPT TOs) per message
    messages: list[bytes]  # as delivered, masked


def received(server: RecordingServer) -> Received:
    # An aborted session's RSET and QUIT reach the server after the send
    # has returned (as with tcllib): wait for every connection to end.
    wait_until_closed(server)
    return Received(
        sessions=[[_SIZE.sub("SIZE=<N>", c) for c in s.commands] for s in server.sessions],
        envelopes=[(m.mail_from, list(m.rcpt_tos)) for m in server.messages],
        messages=[mask_message(m.content) for m in server.messages],
    )
