"""`tclbridge-tclsh`: `tclbridge run` with tclsh's command line, to put
first on PATH or symlink as `tclsh`, so that `#!/usr/bin/env tclsh` scripts
and `tclsh job.tcl` cron lines run on the bridge unchanged.

tclsh 8.6 reads its words so: `-encoding NAME SCRIPT ARGS...` or `SCRIPT
ARGS...` runs SCRIPT (a first word starting with "-" is no script); else
every word is `$argv` and commands come from stdin (tclbridge/tcl_main.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace

# typing is for type checkers only: importing it costs every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def read_words(words: Sequence[str]) -> tuple[str | None, str | None, list[str]]:
    """tclsh's words -> (script or None, its encoding or None, $argv)."""
    if len(words) >= 3 and words[0] == "-encoding" and not words[2].startswith("-"):
        return words[2], words[1], list(words[3:])
    if words and not words[0].startswith("-"):
        return words[0], None, list(words[1:])
    return None, None, list(words)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    words = sys.argv[1:] if argv is None else list(argv)
    script, encoding, args = read_words(words)
    from tclbridge import cli

    opts = SimpleNamespace(command="run", script=script, args=args, cafile=[],
                           **{**cli.RUN_DEFAULTS, "encoding": encoding})
    cli.run_command(opts, program=os.path.abspath(sys.argv[0]))


def entry() -> None:
    main()
