"""A certificate authority that lives for one capture or check run.

The run's SMTP server presents a certificate from it for localhost,
127.0.0.1 and ::1; the bridge trusts the CA's certificate, written to a
file; the CA's key never leaves this process's memory, so the trust is good
for this run's server only. The server's key is on disk only while the SSL
context loads it, in the caller's private directory (not $TMPDIR, which the
script shares). trustme makes both (and `cryptography` under
it): both are imported here alone, when a capture or check starts, so a
plain `run` never loads them.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

CA_FILE_NAME = "tclbridge-ca.pem"
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ThrowawayCA:
    cafile: Path  # the CA certificate (PEM): what a client trusts
    server_context: ssl.SSLContext  # presents the server certificate


def make(directory: Path) -> ThrowawayCA:
    """A new CA, its certificate written to `directory`, and a server context
    with a certificate from it."""
    import trustme

    ca = trustme.CA(organization_name="tclbridge capture (throw-away)")
    cafile = directory / CA_FILE_NAME
    ca.cert_pem.write_to_path(str(cafile))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf = ca.issue_cert(*SERVER_NAMES)
    # ssl loads a key from a file only; trustme's configure_cert would
    # write it to $TMPDIR.
    with leaf.private_key_and_cert_chain_pem.tempfile(dir=str(directory)) as pem:
        context.load_cert_chain(pem)
    return ThrowawayCA(cafile, context)
