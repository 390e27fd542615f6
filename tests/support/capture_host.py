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


def peak_rss_kib() -> int:
    """This process image's peak resident set size. Not getrusage's ru_maxrss:
    after exec that also counts the parent's memory at the fork (pytest's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def main() -> int:
    capture = Capture(sys.argv[1])
    host, port = capture.start()
    print(host, port, flush=True)
    sys.stdin.read()
    capture.stop()
    print(f"peak-rss-kib {peak_rss_kib()}")
    for line in capture.summary_lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
