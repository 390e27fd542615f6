"""Masking of the values that differ from run to run of the same script, and
of the secrets a run handled, which no report may show (`hide_secrets`)."""

from __future__ import annotations

import base64
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tclbridge.differential.outcome import ObservedRun
from tclbridge.tcllist import LIST_SPACE, scan_element

HIDDEN = "<hidden>"
# The option whose next list element (tclbridge.tcllist.scan_element) is a
# password, as tcllib quotes an option list back.
_PASSWORD_OPTION = re.compile(r"-password[ \t]+")
_MIN_SECRET = 4  # shorter literals are not searched for (they would mask common text)
_MIN_BASE64 = 8  # nor shorter base64 fragments of one
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _password_words(text: str) -> Iterator[tuple[int, int, str]]:
    """Where each -password value in `text` starts and ends, and the value."""
    done = 0
    while match := _PASSWORD_OPTION.search(text, done):
        start = done = match.end()
        if start < len(text) and text[start] not in LIST_SPACE:
            done, value = scan_element(text, start)
            yield start, done, value


def _base64_forms(secret: bytes) -> list[str]:
    """`secret` in base64 alone, and the groups it fills inside any longer payload
    (b64("\\0user\\0" + secret), a LOGIN answer...) at each of the three offsets."""
    forms = [base64.b64encode(secret).decode("ascii")]
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        start = 4 if offset else 0
        forms.append(encoded[start:(offset + len(secret)) // 3 * 4].decode("ascii"))
    return [f for f in forms if len(f) >= _MIN_BASE64]


def secrets_of(outcome: ObservedRun) -> set[str]:
    """The secrets a run handled: the passwords its client sent in AUTH, and each
    -password value its output quotes (tcllib's odd-option error does)."""
    found = set(outcome.secrets)
    for text in (outcome.stdout, outcome.stderr):
        found.update(value for _, _, value in _password_words(text))
    found.discard(HIDDEN)
    return found


def _hide_password_words(text: str) -> str:
    out: list[str] = []
    done = 0
    for start, end, _ in _password_words(text):
        out += [text[done:start], HIDDEN]
        done = end
    out.append(text[done:])
    return "".join(out)


def hide_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every -password value, and each of `secrets` (as text, as
    UTF-8 read as Latin-1, and any base64 token carrying it, whole), replaced
    by "<hidden>". The one mask for secrets, applied to tcllib's run and the
    bridge's alike. The secrets go first, so that one holding "-password" is
    found whole."""
    literal: set[str] = set()
    encoded: set[str] = set()
    for secret in secrets:
        if len(secret) >= _MIN_SECRET and secret != HIDDEN:
            raw = secret.encode("utf-8", "surrogateescape")
            literal.update((secret, raw.decode("latin-1")))
            encoded.update(_base64_forms(raw))
    forms = literal | encoded
    if not forms:
        return _hide_password_words(text)
    pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
    out: list[str] = []
    done = 0  # text[:done] is written; each character is looked at once
    for match in pattern.finditer(text):
        start, end = match.span()
        if start < done:
            continue
        if match.group() in encoded and match.group() not in literal:
            # The whole token: its other characters carry the secret's edges.
            while start > done and text[start - 1] in _BASE64_CHARS:
                start -= 1
            while end < len(text) and (text[end] in _BASE64_CHARS or text[end] == "="):
                end += 1
        out += [text[done:start], HIDDEN]
        done = end
    out.append(text[done:])
    return _hide_password_words("".join(out))


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
# smtp tokens only: mime token names are tcllib's in the bridge (scripts log them).
_TOKEN = re.compile(r"::(smtp)::\d+")
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
    secrets: frozenset[str] = field(default=frozenset(), repr=False)  # see hide_secrets

    def hide(self, value: str) -> str:
        return hide_secrets(value, self.secrets)

    def text(self, value: str, substitutions: dict[str, str]) -> str:
        value = _UNIQUE_ID.sub("<UNIQUE-ID>", self.hide(value))
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
        return _UNIQUE_ID.sub("<UNIQUE-ID>", self.hide(value))

    def body(self, value: bytes) -> bytes:
        text = _UNIQUE_ID.sub("<UNIQUE-ID>", self.hide(value.decode("latin-1")))
        return _DATE_TIME.sub("<DATE>", text).encode("latin-1")
