"""What a bare `tclbridge run` loads.

Most legacy mail scripts are cron jobs that start, send one message and
exit, so start-up is the cost that matters, and it is almost all imports.
This runs the CLI on a script that only does `package require smtp;
package require mime` in a fresh Python and compares the modules loaded
with Python + tkinter's own (measured the same way) plus an allow-list: the
engines, TLS, SASL, the site policy, the capture and the check tools load
when first used, not on `package require`. It asserts the set of modules,
not a time, so it does not depend on the machine's load.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The modules tclbridge adds on this path, beyond Python + tkinter.
ALLOWED = {
    # The run path itself.
    "tclbridge", "tclbridge.cli", "tclbridge.config", "tclbridge.environment",
    "tclbridge.host_port", "tclbridge.interp", "tclbridge.tcl", "tclbridge.tcl.checked",
    "tclbridge.tcl.command_sets", "tclbridge.tcl.errorcodes", "tclbridge.tcl.exit_proc",
    # The config files' reader: a stat of each place, no TOML reader without a file.
    "tclbridge.settings_file",
    # The standard library it needs: signals, the lock that ends the process
    # once, and collections.abc (a name for what Python has loaded anyway).
    "signal", "threading", "_weakrefset", "collections.abc",
}

# Named in the failure message when one of them is loaded: each costs
# milliseconds, and none is needed before the script sends or parses.
HEAVY = ("typing", "argparse", "ssl", "_ssl", "email", "smtplib", "hashlib", "hmac", "socket",
         "asyncio", "logging", "tomllib", "tomli", "dataclasses", "inspect", "pathlib",
         "subprocess", "ctypes",
         "tclbridge.smtp", "tclbridge.mime", "tclbridge.site_policy", "tclbridge.differential",
         "tclbridge.sandbox", "tclbridge.journal", "tclbridge.pycall", "tclbridge.tcl.boundary",
         "tclbridge.delivery_log",
         "tclbridge.tcl.mime_commands", "tclbridge.tcl.smtp_commands")

# Prints the modules loaded when the process ends (`tclbridge run` ends it
# with os._exit, so atexit would not run).
_REPORT = """
import os, sys
_exit = os._exit
def report(code):
    sys.stdout.write("\\n".join(sorted(sys.modules)) + "\\n")
    sys.stdout.flush()
    _exit(code)
os._exit = report
"""

_RUN = _REPORT + """
from tclbridge.cli import main
main(["run", sys.argv[1]])
"""

# tclbridge-tclsh, as its console script starts it (`re` is the script's own).
_DROP_IN = _REPORT + """
import re
sys.argv[0] = "tclsh"
from tclbridge.tclsh import main
main(sys.argv[1:])
"""

_FLOOR = _REPORT + """
import tkinter
tkinter.Tcl()
report(0)
"""


def _modules(code: str, *args: str, cwd: Path) -> set[str]:
    # No config file either: XDG_CONFIG_HOME is an empty directory, and
    # /etc/tclbridge/config.toml is not on a test machine.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCLBRIDGE_")}
    env["XDG_CONFIG_HOME"] = str(cwd)
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize("face", ["run", "tclbridge-tclsh"])
def test_bare_run_loads_only_the_run_path(tmp_path: Path, face: str) -> None:
    script = tmp_path / "startup.tcl"
    script.write_text("package require smtp\npackage require mime\n"
                      "puts [package provide smtp]/[package provide mime]\n")
    loaded = _modules(_RUN if face == "run" else _DROP_IN, str(script), cwd=tmp_path)
    assert "1.5.2/1.7.2" in loaded  # the script ran, with the bridge's packages
    floor = _modules(_FLOOR, cwd=tmp_path)
    if face != "run":
        # Its own modules, and `re`, which the console script imports.
        floor |= {"tclbridge.tclsh", "tclbridge.tcl_main"}
        floor |= _modules(_REPORT + "import re\nreport(0)", cwd=tmp_path)
    extra = loaded - floor - ALLOWED - {"1.5.2/1.7.2"}
    heavy = sorted(m for m in extra if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert not heavy, f"heavy modules loaded by a bare run: {heavy}"
    assert not extra, f"modules beyond the allow-list loaded by a bare run: {sorted(extra)}"
