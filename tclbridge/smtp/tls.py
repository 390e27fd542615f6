"""TLS contexts for the client: verified by default, tcllib's unverified
behaviour only when asked for."""

from __future__ import annotations

import ssl
from collections.abc import Sequence

ADVICE = (
    "trust its CA with --cafile FILE or TCLBRIDGE_CAFILE=FILE, or accept "
    "unverified TLS as tcllib did with --tls-no-verify or TCLBRIDGE_TLS_VERIFY=0"
)


def client_context(verify: bool, cafiles: Sequence[str] = ()) -> ssl.SSLContext:
    """The system trust store (which honours SSL_CERT_FILE / SSL_CERT_DIR)
    plus `cafiles`; or, with `verify` off, no checks at all."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()
    for cafile in cafiles:
        context.load_verify_locations(cafile=cafile)
    return context


def verification_failure(host: str, exc: ssl.SSLCertVerificationError) -> str:
    """Words for the script: what failed, for which server, and what to do."""
    reason = exc.verify_message or exc.reason or str(exc)
    return f"TLS certificate of {host} could not be verified ({reason}); {ADVICE}"
