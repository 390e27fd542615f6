"""A delivered message parsed into a comparable MIME tree (headers in order,
content types, decoded bodies), with the random parts masked."""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import re
from dataclasses import dataclass, field
from typing import cast

from tclbridge.differential.masking import Masker


@dataclass
class ComparablePart:
    """One MIME part in comparable form."""

    headers: list[tuple[str, str]]
    content_type: str
    params: list[tuple[str, str]]
    defects: list[str]
    body: bytes | None  # decoded body of a leaf part
    encoded: str | None  # the body as transferred (encoding layout)
    preamble: str | None = None
    epilogue: str | None = None
    parts: list[ComparablePart] = field(default_factory=list)


def unstuff(data: bytes) -> bytes:
    """Remove SMTP dot-stuffing (a leading "." on each line starting with one)."""
    return re.sub(rb"(?:^|(?<=\n))\.", b"", data)


def stuff(data: bytes) -> bytes:
    return re.sub(rb"(?:^|(?<=\n))\.", b"..", data)


def _boundaries(msg: email.message.Message) -> list[str]:
    found: list[str] = []
    for part in msg.walk():
        boundary = part.get_boundary() if part.is_multipart() else None
        if boundary and boundary not in found:
            found.append(boundary)
    return found


def parse_message(data: bytes, masker: Masker) -> ComparablePart:
    """Parse wire data (dot-stuffed) into a masked `ComparablePart` tree."""
    content = unstuff(data)
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    first = parser.parsebytes(content)
    for n, boundary in enumerate(_boundaries(first), 1):  # same placeholder in params and body
        content = content.replace(boundary.encode("latin-1", "replace"), f"BOUNDARY-{n}".encode())
    return _part(parser.parsebytes(content), masker)


def _part(msg: email.message.Message, masker: Masker) -> ComparablePart:
    headers = [(name, masker.header(name, str(value))) for name, value in msg.items()]
    params = [(k, masker.header(k, str(v))) for k, v in (msg.get_params() or [])[1:]]
    node = ComparablePart(headers=headers, content_type=masker.hide(msg.get_content_type()),
                          params=params, defects=[type(d).__name__ for d in msg.defects],
                          body=None, encoded=None)
    if msg.is_multipart():
        node.preamble, node.epilogue = (None if text is None else masker.hide(text)
                                        for text in (msg.preamble, msg.epilogue))
        # A multipart's payload is its list of parts (typeshed allows str too).
        subparts = cast(list[email.message.Message], msg.get_payload())
        node.parts = [_part(sub, masker) for sub in subparts]
    else:
        payload = msg.get_payload()
        encoded = payload if isinstance(payload, str) else repr(payload)
        node.encoded = masker.body(encoded.encode("latin-1", "replace")).decode("latin-1")
        decoded = msg.get_payload(decode=True)
        node.body = masker.body(decoded) if isinstance(decoded, bytes) else None
    return node
