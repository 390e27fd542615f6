"""A `Capture` in a process of its own, for tests that measure the process
that hosts the capture server::

    python -m tests.support.capture_host DIR

prints "HOST PORT" once listening; when its stdin closes it stops the server
and prints "peak-rss-kib N" (the process's peak resident set size) and the
summary lines.
"""

from __future__ import annotations

import resource
import sys

from tclbridge.capture import Capture


def main() -> int:
    capture = Capture(sys.argv[1])
    host, port = capture.start()
    print(host, port, flush=True)
    sys.stdin.read()
    capture.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak-rss-kib {peak}")
    for line in capture.summary_lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
