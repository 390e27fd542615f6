"""Settings that change where and how the bridge sends, from the CLI and the
environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _timeout_scale() -> float:
    try:
        return float(os.environ.get("TCLBRIDGE_TIMEOUT_SCALE", "1"))
    except ValueError:
        return 1.0


@dataclass
class BridgeConfig:
    # Send every connection here instead of the script's -servers/-ports.
    server_override: tuple[str, int] | None = None
    # Multiplies tcllib's per-command timeouts (tests scale them down).
    timeout_scale: float = field(default_factory=_timeout_scale)
