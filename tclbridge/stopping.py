"""SIGINT and SIGTERM under `tclbridge run --capture`: the summary first, then
the end a signal gives tclsh.

Python runs a signal handler in the main thread between bytecodes only. A
script waiting in `vwait` (or spinning in `while 1 {}`) is in Tcl's C code,
so a handler would wait until the script comes back to Python, which may be
never. So the handler here does nothing: `signal.set_wakeup_fd` makes the
C-level handler write the signal's number to a pipe, and a thread blocked
reading it does the work at once, whatever the main thread is doing (Tcl
runs without the GIL). A second signal during that work ends the process at
once.

The process then ends by the same signal with its default action, as an
unhandled signal ends tclsh: a shell sees 128+N (130, 143), a Tcl `exec`
CHILDKILLED, Python's subprocess -N.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
from collections.abc import Callable, Iterable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def on_stop_signals(work: Callable[[signal.Signals], None],
                    signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
    """From now on each of `signals` runs `work(signal)` in a thread of its
    own, then ends the process by that signal. Call from the main thread.
    A signal ignored when the process started (`nohup`, `trap '' INT`)
    stays ignored, as it does for tclsh."""
    wanted = {int(s) for s in signals if signal.getsignal(s) is not signal.SIG_IGN}
    if not wanted:
        return
    read_fd, write_fd = os.pipe()  # not inherited by children
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for signum in wanted:
        signal.signal(signum, _noted_by_the_watcher)
    threading.Thread(target=_watch, args=(read_fd, wanted, work), daemon=True,
                     name="tclbridge-signals").start()


def _noted_by_the_watcher(signum: int, frame: object) -> None:
    """The Python-level handler: the wakeup pipe has the signal already."""


def _watch(read_fd: int, wanted: set[int],
           work: Callable[[signal.Signals], None]) -> None:
    busy = False
    while True:
        try:
            data = os.read(read_fd, 64)
        except InterruptedError:
            continue
        for signum in data:
            if signum not in wanted:
                continue
            if busy:  # a second Ctrl-C: do not wait for the summary
                end_by(signum)
            busy = True
            threading.Thread(target=_work_then_end, args=(signal.Signals(signum), work),
                             daemon=True, name="tclbridge-stopping").start()


def _work_then_end(signum: signal.Signals, work: Callable[[signal.Signals], None]) -> None:
    try:
        work(signum)
    finally:
        end_by(signum)


def end_by(signum: int) -> None:
    """End the process as `signum` with its default action would."""
    # signal.signal() only works in the main thread, which may be busy in Tcl.
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.signal.restype = ctypes.c_void_p
    libc.signal(signum, None)  # SIG_DFL
    signal.pthread_kill(threading.get_ident(), signum)  # delivered before it returns
    os._exit(128 + signum)  # not reached unless the signal is blocked here
