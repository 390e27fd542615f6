"""A small mbox file for the tests of tcllib's mbox package
(`mime::initialize -file BOX -root TOKEN -offset N -count M`)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

# tcllib's own mailbox package, used by its example mail apps; the tests
# source it from here rather than keep a copy.
MBOX_TCL = Path("/usr/share/doc/tcllib/examples/mime/mbot/mbox.tcl")
TCLLIB_MIME = Path("/usr/share/tcltk/tcllib1.21/mime/mime.tcl")
HAVE_MBOX = shutil.which("tclsh") is not None and MBOX_TCL.exists() and TCLLIB_MIME.exists()

# Each message as it follows its "From " line; mbox.tcl counts every byte up
# to the next "From " line (the blank separator included) as the message.
MESSAGES: list[bytes] = [
    b"From: Alice <alice@example.com>\n"
    b"To: bob@example.com\n"
    b"Subject: first\n"
    b"Date: Mon, 1 Jan 2024 09:30:00 +0100\n"
    b"\n"
    b"Hello Bob.\n"
    b">From the desk of Alice: a quoted line, not a new message.\n"
    b"\n",
    b"From: Carol <carol@example.com>\n"
    b"To: bob@example.com\n"
    b"Subject: with attachment\n"
    b"MIME-Version: 1.0\n"
    b'Content-Type: multipart/mixed; boundary="XYZ"\n'
    b"\n"
    b"preamble\n"
    b"--XYZ\n"
    b"Content-Type: text/plain; charset=us-ascii\n"
    b"\n"
    b"See attached.\n"
    b"--XYZ\n"
    b'Content-Type: application/octet-stream; name="a.bin"\n'
    b"Content-Transfer-Encoding: base64\n"
    b'Content-Disposition: attachment; filename="a.bin"\n'
    b"\n"
    b"AAECAwQFBgf/\n"
    b"--XYZ--\n"
    b"epilogue\n"
    b"\n",
    b"From: Dave <dave@example.com>\n"
    b"Subject: forwarded\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"From: Erin <erin@example.com>\n"
    b"Subject: inner\n"
    b"Content-Transfer-Encoding: quoted-printable\n"
    b"\n"
    b"caf=C3=A9 =\n"
    b"soft break\n"
    b"\n",
    b"From: frank@example.com\n"
    b"Subject: last\n"
    b"\n"
    b"last one\n",
]
ENVELOPE = b"From sender@example.com Mon Jan  1 00:00:00 2024\n"


@dataclass(frozen=True)
class Span:
    offset: int
    size: int


def write_mbox(path: Path) -> list[Span]:
    """Writes the sample mailbox; the (offset, size) mbox.tcl finds for each
    message."""
    data = bytearray()
    spans = []
    for message in MESSAGES:
        data += ENVELOPE
        spans.append(Span(len(data), len(message)))
        data += message
    path.write_bytes(bytes(data))
    # mbox.tcl adds 1 per line, so a last line without LF counts one more.
    last = spans[-1]
    spans[-1] = Span(last.offset, last.size + (not MESSAGES[-1].endswith(b"\n")))
    return spans
