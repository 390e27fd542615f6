"""Real `tclbridge run` processes that send one message and keep a delivery
log, and reading that log back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tclbridge.delivery_log import parse_line

REPO = Path(__file__).resolve().parent.parent.parent

# argv: PORTS TO [OPTION VALUE ...]: sends one text/plain message to
# 127.0.0.1 on each port in turn (tcllib's -servers/-ports); the options
# after TO are sendmessage's own, as given. Prints the return code and
# result.
SEND_ONE = r"""
package require smtp
package require mime
set ports [lindex $argv 0]
set to [lindex $argv 1]
set options [lrange $argv 2 end]
set tok [mime::initialize -canonical text/plain -string "the body\n"]
set servers [lrepeat [llength $ports] 127.0.0.1]
set rc [catch {smtp::sendmessage $tok -servers $servers -ports $ports \
    -header [list From sender@example.com] -header [list To $to] \
    -header {Subject {a report}} {*}$options} result]
puts "rc=$rc result=$result"
"""


def bridge_env(**extra: str) -> dict[str, str]:
    """The test's environment without the bridge's settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCLBRIDGE_")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def run_bridge(*args: str, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m tclbridge run ARGS...` in `cwd`."""
    return subprocess.run([sys.executable, "-m", "tclbridge", "run", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env=bridge_env() if env is None else env)


def log_records(path: Path) -> list[dict[str, list[str]]]:
    """Each line of the log as key -> values (`rcpt` has one per recipient);
    the file must end with a line end and hold only well-formed lines."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), data[-200:]
    records = []
    for line in data.decode("utf-8").split("\n")[:-1]:
        record: dict[str, list[str]] = {}
        for key, value in parse_line(line):
            record.setdefault(key, []).append(value)
        records.append(record)
    return records


def one(record: dict[str, list[str]], key: str) -> str:
    """The single value of `key` in a record."""
    values = record[key]
    assert len(values) == 1, (key, values)
    return values[0]
