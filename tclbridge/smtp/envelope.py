"""From sendmessage's options and the caller's part, derive what tcllib
derives: the envelope sender, the recipients, the Bcc recipients and the
headers it adds to the message.

The caller's part is never changed: headers go on a copy of its top level
(tcllib means to restore the part afterwards but, through a typo, does not).

`MimeCalls` counts what tcllib does through its mime package on the way
(each address list it parses, each part it makes), in tcllib's order and
stopping where tcllib stops, so that a caller can mirror it.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from tclbridge.engine_errors import UsageError
from tclbridge.mime import address
from tclbridge.mime.dates import now_proper
from tclbridge.mime.generator import check_headers
from tclbridge.mime.initialize import new_part
from tclbridge.mime.model import Part
from tclbridge.mime.transfer_encodings import unique_id
from tclbridge.smtp.options import SendOptions, refuse_unsendable

# What mime::parseaddress gives: one property dict per address.
Addresses = list[dict[str, str]]

# tcllib's literal fallback text when parseaddress finds no address at all:
# it is written in braces, so "$from" is never substituted.
_NO_ADDRESS = 'invalid address "$from"'


@dataclass
class MimeCalls:
    """How many address lists tcllib's sendmessage has parsed (each a
    `mime::parseaddress`) and how many parts it has made (each a
    `mime::initialize`: the Bcc digest's two) so far."""

    address_lists: int = 0
    parts: int = 0


class MissingPart(Exception):
    """The message to send is no part. tcllib notices only after it has
    parsed the addresses and chosen Date and Message-ID."""


@dataclass
class Envelope:
    sender: str
    recipients: list[str]
    bcc_recipients: list[str]
    # A Bcc header was given: tcllib then sends the digest, even to nobody.
    has_bcc: bool
    message: Part  # the caller's part plus the headers tcllib adds
    originator: str  # as written (the Bcc digest's From)
    subject: str | None  # the first -header Subject, for the Bcc digest
    bcc_prefix: str = field(default="")
    calls: MimeCalls = field(default_factory=MimeCalls)

    def bcc_digest(self) -> Part:
        """tcllib's second message for Bcc recipients: a multipart/digest
        wrapping the original as message/rfc822 (two parts made)."""
        subject = f"[{self.bcc_prefix}Bcc]"
        if self.subject is not None:
            subject += " " + self.subject
        self.calls.parts += 1
        inner = new_part(
            canonical="message/rfc822",
            headers=[("Content-Description", "Original Message")],
            parts=[self.message],
        )
        self.calls.parts += 1
        return new_part(
            canonical="multipart/digest",
            headers=[
                ("From", self.originator),
                ("Bcc", ""),
                ("Date", now_proper()),
                ("Subject", subject),
                ("Message-ID", unique_id()),
                ("Content-Description", "Blind Carbon Copy"),
            ],
            parts=[inner],
        )


def _first_address(addrs: Addresses, text: str, who: str) -> str:
    if len(addrs) > 1:
        raise UsageError(f"too many mailboxes in {who}: {text}")
    error = addrs[0]["error"] if addrs else _NO_ADDRESS
    if error:
        raise UsageError(f"error in {who}: {error}")
    return refuse_unsendable(who, addrs[0]["address"])


def _all_addresses(addrs: Addresses, who: str) -> list[str]:
    result = []
    for props in addrs:
        if props["error"]:
            raise UsageError(f"error in {who}: {props['error']}")
        result.append(refuse_unsendable(who, props["address"]))
    return result


def current_user() -> str:
    """What Tcl puts in tcl_platform(user)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def derive(
    opts: SendOptions,
    part: Part | None,
    user: str | None = None,
    calls: MimeCalls | None = None,
) -> Envelope:
    """The envelope of `part` sent with `opts`. `part` None: the script's
    token names no part (MissingPart, raised where tcllib fails). `calls`
    counts tcllib's mime calls as they happen, also when this raises."""
    calls = MimeCalls() if calls is None else calls
    headers = opts.headers

    def parse(text: str) -> Addresses:
        calls.address_lists += 1
        return address.parse_address(text)

    resent = any(name.startswith("resent-") for name in headers.order)
    low_prefix, mixed_prefix = ("resent-", "Resent-") if resent else ("", "")

    def low(name: str) -> str:
        return low_prefix + name.lower()

    def mixed(name: str) -> str:
        return mixed_prefix + name

    originator = opts.originator
    if opts.null_originator:
        sender = ""
    else:
        who = "-originator"
        if originator == "":
            if low("From") in headers:
                originator = headers.joined(low("From"))
                who = mixed("From")
            else:
                originator = current_user() if user is None else user
        if low("From") not in headers:
            headers.add(mixed("From"), originator)
        sender = _first_address(parse(originator), originator, who)
        from_text = headers.joined(low("From"))
        if low("Sender") not in headers and originator != from_text:
            from_address = _first_address_unchecked(parse(from_text), mixed("From"))
            if from_address != sender:
                headers.add(mixed("Sender"), from_address)

    if opts.recipients != "":
        recipients_text, who = opts.recipients, "-recipients"
    elif low("To") not in headers:
        raise UsageError(f'need -header "{mixed("To")} ..."')
    else:
        recipients_text, who = headers.joined(low("To")), mixed("To")
        if low("cc") in headers:
            recipients_text += "," + headers.joined(low("cc"))
            who += "/" + mixed("cc")
        if low("Dcc") in headers:
            recipients_text += "," + headers.joined(low("Dcc"))
            who += "/" + mixed("Dcc")
            headers.remove(low("Dcc"))

    bcc_recipients: list[str] = []
    has_bcc = low("Bcc") in headers
    if has_bcc:
        bcc_recipients = _all_addresses(parse(headers.joined(low("Bcc"))), mixed("Bcc"))
        headers.remove(low("Bcc"))
    if low("To") not in headers:
        headers.add(mixed("Bcc"), "")

    recipients = _all_addresses(parse(recipients_text), who)

    def given(name: str) -> bool:
        # tcllib asks the part inside a catch: a missing part has no headers.
        return low(name) in headers or (part is not None and part.has_header(low(name)))

    if not given("Date"):
        headers.add(mixed("Date"), now_proper())
    if not given("Message-ID"):
        headers.add(mixed("Message-ID"), unique_id())
    if part is None:
        raise MissingPart

    message = part.copy_top()
    for name, value in headers.items():
        message.set_header(name, value, "append")
    # The caller's own headers too (a parsed message's may hold a bare CR):
    # refused here, before connecting, rather than half-way through DATA.
    check_headers(message)

    subject = headers.values.get("subject")
    return Envelope(
        sender=sender,
        recipients=recipients,
        bcc_recipients=bcc_recipients,
        has_bcc=has_bcc,
        message=message,
        originator=originator,
        subject=subject[0] if subject else None,
        bcc_prefix=mixed_prefix,
        calls=calls,
    )


def _first_address_unchecked(addrs: Addresses, who: str) -> str:
    """The first address; tcllib ignores any further ones here."""
    error = addrs[0]["error"] if addrs else _NO_ADDRESS
    if error:
        raise UsageError(f"error in {who}: {error}")
    return addrs[0]["address"]
