"""The first piece moved to Python: reading the host status file.

Step 2 calls it from Tcl (`tclbridge::call report_data.read_hosts PATH`,
the rows come back as a Tcl list of lists) and from Python; step 3 uses it
as it is.
"""

from __future__ import annotations

from pathlib import Path

HOSTS_FILE = Path(__file__).resolve().parent / "hosts.txt"


def read_hosts(path: str | Path = HOSTS_FILE) -> list[tuple[str, ...]]:
    """(host, status, uptime) per line; blank lines and # comments skipped."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(tuple(line.split()))
    return rows
