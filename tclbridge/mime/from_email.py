"""A message from Python's `email` package as a bridge MIME tree.

The tree is what a Tcl script would build for the same message with
`mime::initialize -canonical`: each part's content type and parameters, its
Content-Transfer-Encoding, its other headers and its decoded content. The
generator then lays it out with tcllib's rules (header order, Content-ID,
parameter layout, encoders), so the same message sent from Tcl and from
Python gives the same bytes.

Rules a caller may notice:

- MIME-Version and Content-MD5 are dropped (mime writes its own MIME-Version);
  a multipart's preamble and epilogue are dropped.
- Header values are taken in their encoded form (RFC 2047 words, folded),
  except the top level's address headers (To, Cc, Bcc, From, Sender,
  Reply-To, Resent-*): those are taken decoded, as a script passes them to
  `-header`, so that the envelope is derived from the same addresses as for
  the Tcl command.
- A header value with a line break that would start a new header is
  refused (a `MimeError` naming the header), as for `-header`.
- A part whose body is not ASCII and has no base64/quoted-printable encoding
  is sent as it is when it decodes in `codec` (the channel encoding), else
  base64-encoded.
"""

from __future__ import annotations

import email.headerregistry
import email.message
import email.policy
import email.utils
import re
from typing import cast

from tclbridge.mime.initialize import new_part
from tclbridge.mime.model import Part, validate_header_value

_DROPPED = ("mime-version", "content-md5", "content-type", "content-transfer-encoding")
_IDENTITY = ("7bit", "8bit", "binary")
# RFC 5322 unfolding: a line break followed by a space or tab.
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def header_value(
    msg: email.message.Message, name: str, value: object, *, decode_addresses: bool = False
) -> str:
    """The header's value as it would be written (encoded words, folded
    lines); with `decode_addresses`, an address header's decoded. A line break that
    would start a new header is refused here, as for -header (compat32 keeps
    such values as given and email would raise its own HeaderParseError)."""
    if isinstance(value, str):
        validate_header_value(name, value)
    if decode_addresses and _is_address_header(name):
        # Unfold, then decode RFC 2047 words as unstructured text: nothing
        # else is rewritten, so no address is lost or changed.
        text = _FOLD.sub("", str(value))
        return str(email.policy.default.header_factory("Comments", text))
    # typeshed says str; compat32's fold also takes the email.header.Header
    # values msg.items() may hold.
    folded = msg.policy.clone(linesep="\n").fold(name, value)  # type: ignore[arg-type]
    return folded[len(name) + 1 :].strip(" \t\n")


def _is_address_header(name: str) -> bool:
    # typeshed types header_factory as a callable; the policy's is a registry.
    registry = cast(email.headerregistry.HeaderRegistry, email.policy.default.header_factory)
    kind = registry[name.lower()]
    return issubclass(kind, email.headerregistry.AddressHeader)


def _header_pairs(
    msg: email.message.Message, content: bool | None, *, decode_addresses: bool = False
) -> list[tuple[str, str]]:
    """The headers of `msg` that mime does not compute, in order: only the
    Content-* ones (`content` True), only the others (False), or all (None)."""
    pairs = []
    for name, value in msg.items():
        lower = name.lower()
        if lower in _DROPPED or content not in (None, lower.startswith("content-")):
            continue
        pairs.append((name, header_value(msg, name, value, decode_addresses=decode_addresses)))
    return pairs


def envelope_headers(msg: email.message.Message) -> list[tuple[str, str]]:
    """The top level's headers that sendmessage takes as -header options
    (all but Content-* and MIME-Version), address headers decoded: the
    envelope is derived from them."""
    return _header_pairs(msg, content=False, decode_addresses=True)


def _params(msg: email.message.Message) -> list[tuple[str, str]]:
    params = msg.get_params() or []
    # The first pair is the content type itself.
    return [(key, email.utils.collapse_rfc2231_value(value)) for key, value in params[1:]]


def _body(data: bytes, encoding: str, codec: str) -> tuple[str, str]:
    """The body as Tcl characters, and the encoding to send it with."""
    if encoding == "base64":
        return data.decode("latin-1"), encoding
    # mime writes LF line ends and makes them CRLF itself.
    data = data.replace(b"\r\n", b"\n")
    if encoding == "quoted-printable" or data.isascii():
        return data.decode("latin-1"), encoding
    if encoding in _IDENTITY:
        try:
            return data.decode(codec), encoding
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "base64"


def to_part(msg: email.message.Message, codec: str = "utf-8", *, top: bool = False) -> Part:
    """The bridge part for `msg`. With `top`, only its Content-* headers are
    kept: the others are `envelope_headers`, passed as -header options."""
    canonical = msg.get_content_type()
    headers = _header_pairs(msg, content=True if top else None)
    encoding = (msg.get("Content-Transfer-Encoding") or "").strip().lower()
    if msg.is_multipart():
        payload = msg.get_payload()
        assert isinstance(payload, list)
        # A multipart's payload is its list of parts (typeshed allows str too).
        children = [to_part(child, codec) for child in cast(list[email.message.Message], payload)]
        return new_part(
            canonical=canonical,
            params=_params(msg),
            headers=headers,
            parts=children,
            encoding="" if encoding in _IDENTITY else encoding,
        )
    data = msg.get_payload(decode=True)
    string, encoding = _body(data if isinstance(data, bytes) else b"", encoding, codec)
    return new_part(
        canonical=canonical, params=_params(msg), headers=headers, string=string, encoding=encoding
    )
