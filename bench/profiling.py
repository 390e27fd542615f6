"""`python -m bench.profiling WORKLOAD`: where the bridge's time goes, by cProfile.

Runs one workload's Tcl script in a bridge interpreter in this process and
profiles both threads: the Tcl (main) thread and the worker thread that
talks SMTP. Since Python 3.12 cProfile runs on sys.monitoring, of which a
process has one, seeing every thread: there the worker keeps cProfile (its
table may then also count the Tcl thread's few Python calls made during a
send) and the Tcl thread gets the pure-Python `profile` (sys.setprofile,
per thread).
The sink runs in a process of its own, so it does not compete for this
process's interpreter lock.

    small [COUNT]       COUNT small messages (default 300), as benchmark (a)
    attach [MB]         one message with an MB-sized attachment (default 100)
    qp [MB]             one text part of MB (default 8) sent quoted-printable
"""

from __future__ import annotations

import cProfile
import io
import profile
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import workloads
from bench.run import MB
from bench.sink import ROOT

QP_SCRIPT = r"""
lassign $argv port megabytes
package require smtp
package require mime
set line "Line with words, a price of \$5, an address a@b.c and a tail running past\
    the seventy-six column limit of plain lines\n"
set text [string repeat $line [expr {$megabytes * 1048576 / [string length $line]}]]
set start [clock microseconds]
set tok [mime::initialize -canonical text/plain -string $text]
smtp::sendmessage $tok -servers 127.0.0.1 -ports $port \
    -header {From a@example.com} -header {To b@example.com}
puts "BENCH [expr {([clock microseconds] - $start) / 1e6}]"
"""


def _profilers() -> tuple[cProfile.Profile, cProfile.Profile | profile.Profile]:
    """The worker thread's profiler and the Tcl thread's (see the module
    docstring)."""
    if sys.version_info < (3, 12):
        return cProfile.Profile(), cProfile.Profile()
    return cProfile.Profile(), profile.Profile()


def _profile(script: Path, args: list[str], top: int) -> str:
    from tclbridge.interp import Interp
    from tclbridge.smtp import session

    worker, main = _profilers()
    run = session.Session.run

    def profiled_run(self: session.Session) -> object:
        return worker.runcall(run, self)

    session.Session.run = profiled_run  # type: ignore[method-assign]
    bridge = Interp()
    bridge.tk.tk.call("set", "argv", tuple(args))
    start = time.perf_counter()
    try:
        main.runcall(bridge.tk.tk.call, "source", str(script))
    finally:
        session.Session.run = run  # type: ignore[method-assign]
    out = [f"wall time under the profiler: {time.perf_counter() - start:.3f} s"]
    for name, prof in (("Tcl thread", main), ("SMTP worker thread", worker)):
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(top)
        out += [f"===== {name} (by own time)", text.getvalue().strip()]
    bridge.close()
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("small", "attach", "qp"):
        print(__doc__)
        return 2
    workload, amount = argv[0], argv[1:2]
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.sink", "serve"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert sink.stdin is not None and sink.stdout is not None
    port = sink.stdout.readline().strip()
    with tempfile.TemporaryDirectory(prefix="tclbridge-profile-") as tmp:
        if workload == "small":
            script = workloads.SCRIPTS / "small.tcl"
            args = [port, amount[0] if amount else "300"]
        elif workload == "attach":
            size = int(amount[0] if amount else "100") * MB
            script = workloads.SCRIPTS / "attach.tcl"
            args = [port, str(workloads.make_file(Path(tmp) / "export.bin", size))]
        else:
            script = Path(tmp) / "qp.tcl"
            script.write_text(QP_SCRIPT)
            args = [port, amount[0] if amount else "8"]
        report = _profile(script, args, top=25)
    sink.stdin.close()
    print(f"sink received {sink.stdout.readline().strip()} messages")
    sink.wait(10)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
