"""How the envelope addresses of one transaction go on the wire (RFC 6531).

An ASCII address goes as the script gave it (tcllib's bytes). A non-ASCII
domain goes as its A-labels (IDNA 2008, the form the site policy judged),
which every server accepts. A non-ASCII local part has no ASCII form: it
goes, UTF-8 encoded, only to a server that offers SMTPUTF8, with SMTPUTF8
on MAIL FROM; other servers never see it, and the address is refused here
with a reply like a server's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tclbridge.domains import DomainError, normalize, shown
from tclbridge.smtp.protocol import Reply

REFUSAL_CODE = 553
NEEDS_SMTPUTF8 = "5.6.7 non-ASCII address needs SMTPUTF8, which the server does not offer"


@dataclass(frozen=True)
class WireEnvelope:
    """The addresses of one transaction: what goes between < and > for the
    sender and each recipient, or the reply that stands for a refusal no
    server gave."""

    sender: str | Reply
    recipients: dict[str, str | Reply] = field(default_factory=dict)
    smtputf8: bool = False  # add SMTPUTF8 to MAIL FROM

    @property
    def mail_parameter(self) -> str:
        return " SMTPUTF8" if self.smtputf8 else ""


def offers_smtputf8(esmtp: Iterable[str]) -> bool:
    return any(line.split(" ", 1)[0].upper() == "SMTPUTF8" for line in esmtp)


def plan(sender: str, recipients: Iterable[str], esmtp: Iterable[str]) -> WireEnvelope:
    """The wire forms of `sender` (MAIL FROM) and `recipients` (RCPT TO) for
    a server whose EHLO keywords are `esmtp`."""
    offered = offers_smtputf8(esmtp)
    wire_sender = wire_form(sender, offered, "5.1.7")
    wire_recipients = {r: wire_form(r, offered, "5.1.3") for r in recipients}
    utf8 = any(isinstance(form, str) and not form.isascii()
               for form in [wire_sender, *wire_recipients.values()])
    return WireEnvelope(wire_sender, wire_recipients, utf8)


def wire_form(address: str, smtputf8: bool, status: str) -> str | Reply:
    """`address` as it goes on the wire, or the refusal (`status`: the
    enhanced code for a domain that is not a valid name)."""
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, ""
    if not domain.isascii():
        try:
            domain = normalize(domain)
        except DomainError as exc:
            return Reply(REFUSAL_CODE, f"{status} domain {shown(domain)} is not a valid "
                         f"internationalized domain name ({exc})", plain=True)
    wire = f"{local}@{domain}" if at else local
    if not wire.isascii() and not smtputf8:
        return Reply(REFUSAL_CODE, NEEDS_SMTPUTF8, plain=True)
    return wire
