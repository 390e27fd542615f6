"""Session settings from the bridge's configuration: one mapping for the Tcl
command and the Python API, so both send under the same settings."""

from __future__ import annotations

import dataclasses
from typing import Any

from tclbridge.config import BridgeConfig
from tclbridge.smtp.session import SessionSettings

_SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(SessionSettings))


def settings_from_config(config: BridgeConfig, **values: Any) -> SessionSettings:
    """The settings `config` asks for (each field the two classes share),
    plus the caller's own `values` (host name, encoding, final wait, ...)."""
    shared = {
        name: value
        for name, value in config.settings().items()
        if name in _SETTING_NAMES and name not in values
    }
    if "cafiles" in shared:
        shared["cafiles"] = tuple(shared["cafiles"])
    return SessionSettings(**shared, **values)
