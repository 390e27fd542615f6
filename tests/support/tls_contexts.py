"""TLS contexts for tests that talk TLS over 127.0.0.1."""

from __future__ import annotations

import ssl

import pytest


def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context for localhost/127.0.0.1, client context trusting its CA)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx
