"""Masking of the values that differ from run to run of the same script."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

# Header values that are random per run (compared lower-case).
RANDOM_HEADERS = {
    "date": "<DATE>",
    "resent-date": "<DATE>",
    "message-id": "<MESSAGE-ID>",
    "resent-message-id": "<MESSAGE-ID>",
    "content-id": "<CONTENT-ID>",
}

_UNIQUE_ID = re.compile(r"<\d+\.\d+\.\d+@[^>\s]*>")  # mime::uniqueID: <pid.secs.n@host>
# An RFC 822 date-time as mime::parsedatetime writes it (masked in bodies, where a
# malformed header block can leave Date lines).
_DATE_TIME = re.compile(r"\b\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\b")
_TOKEN = re.compile(r"::(mime|smtp)::\d+")
_CHANNEL = re.compile(r"\bsock[0-9a-f]+\b")  # Tcl socket channel names
_SIZE = re.compile(r"\bSIZE=\d+", re.IGNORECASE)
_GREETING_CMD = re.compile(r"^(EHLO|HELO) (\S+)", re.IGNORECASE)
_DEBUG_GREETING = re.compile(r"^(--> (?:EHLO|HELO)) (\S+)", re.MULTILINE | re.IGNORECASE)


def local_names() -> set[str]:
    """The names this machine's clients may greet with."""
    names = {"localhost"}
    for lookup in (socket.gethostname, socket.getfqdn):
        try:
            names.add(lookup())
        except OSError:
            pass
    return names


@dataclass
class Masker:
    """Replaces the parts of an outcome that differ from run to run."""

    unmasked_headers: frozenset[str] = frozenset()  # lower-case names to keep as they are
    client_names: frozenset[str] = field(default_factory=lambda: frozenset(local_names()))

    def text(self, value: str, substitutions: dict[str, str]) -> str:
        value = _UNIQUE_ID.sub("<UNIQUE-ID>", value)
        value = _TOKEN.sub(r"::\1::N", value)
        value = _CHANNEL.sub("sock<ID>", value)
        value = _SIZE.sub("SIZE=<N>", value)
        for literal, placeholder in sorted(substitutions.items(), key=lambda kv: -len(kv[0])):
            if literal:
                value = re.sub(rf"(?<![\w.]){re.escape(literal)}(?![\w])", placeholder, value)
        return value

    def client(self, name: str) -> str:
        return "<CLIENT>" if name in self.client_names else name

    def command(self, line: str, substitutions: dict[str, str]) -> str:
        match = _GREETING_CMD.match(line)
        if match:
            line = f"{match.group(1)} {self.client(match.group(2))}{line[match.end():]}"
        return self.text(line, substitutions)

    def stream(self, value: str, substitutions: dict[str, str]) -> str:
        value = _DEBUG_GREETING.sub(lambda m: f"{m.group(1)} {self.client(m.group(2))}", value)
        return self.text(value, substitutions)

    def header(self, name: str, value: str) -> str:
        lower = name.lower()
        if lower in RANDOM_HEADERS and lower not in self.unmasked_headers:
            return RANDOM_HEADERS[lower]
        return _UNIQUE_ID.sub("<UNIQUE-ID>", value)

    def body(self, value: bytes) -> bytes:
        text = _UNIQUE_ID.sub("<UNIQUE-ID>", value.decode("latin-1"))
        return _DATE_TIME.sub("<DATE>", text).encode("latin-1")
