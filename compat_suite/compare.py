"""The compat suite's comparison: tcllib's run (expected) vs the bridge's.

It lives in `tclbridge.differential` (``tclbridge check`` uses the same code);
these names are kept for the suite and its tests.
"""

from __future__ import annotations

from tclbridge.differential.compare import compare, diff
from tclbridge.differential.compat import apply_compat, apply_compat_tree
from tclbridge.differential.masking import RANDOM_HEADERS, Masker
from tclbridge.differential.masking import local_names as _local_names
from tclbridge.differential.message import ComparablePart, parse_message, stuff, unstuff
from tclbridge.differential.normalize import Normalized, normalize
from tclbridge.differential.outcome import (
    ASPECTS,
    DEFAULT_ASPECTS,
    Delivered,
    Difference,
    ObservedRun,
)

__all__ = [
    "ASPECTS", "DEFAULT_ASPECTS", "RANDOM_HEADERS", "ComparablePart", "Delivered", "Difference",
    "Masker", "Normalized", "ObservedRun", "_local_names", "apply_compat", "apply_compat_tree",
    "compare", "diff", "normalize", "parse_message", "stuff", "unstuff",
]
