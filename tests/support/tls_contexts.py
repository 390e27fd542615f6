"""TLS contexts for tests that talk TLS over 127.0.0.1."""

from __future__ import annotations

import functools
import ssl

import pytest
import trustme


@functools.cache
def shared_ca() -> trustme.CA:
    """One CA for the servers whose clients trust the `cafile` fixture's file
    (making a CA costs ~50 ms, so tests share this one)."""
    return trustme.CA()


def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context for localhost/127.0.0.1, client context trusting its CA)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx
