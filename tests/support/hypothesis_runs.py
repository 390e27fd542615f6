"""How the property tests draw their inputs: the same ones on every run, and
no example database carried from run to run, so a red CI run is a finding
that replays rather than a new roll of the dice. TCLBRIDGE_FUZZ_RANDOM=1
draws new inputs each run, for long hunts by hand."""

from __future__ import annotations

import os

REPLAYABLE = {
    "derandomize": os.environ.get("TCLBRIDGE_FUZZ_RANDOM", "") != "1",
    "database": None,
}
