"""Blocking work in threads while the Tcl event loop keeps running.

Tcl may only be called from the thread that created the interpreter, and the
script must keep servicing `after` timers, fileevents and Tk while a send
waits on a slow server. So a send runs in a worker thread; the Tcl side waits
in `vwait`, and the worker wakes it through a pipe registered as a Tcl file
handler (no polling: the process sleeps in select until the pipe is written).
"""

from __future__ import annotations

import os
import queue
import threading
import tkinter
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class MainThreadLink:
    """Lets worker threads hand work to the thread that owns the Tcl interp."""

    def __init__(self, tk: Any) -> None:
        self._tk = tk
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        tk.createfilehandler(self._read_fd, tkinter.READABLE, self._on_wake)

    def post(self, func: Callable[[], None]) -> None:
        """Run `func` in the Tcl thread the next time its event loop runs."""
        self._inbox.put(func)
        os.write(self._write_fd, b"!")

    def call(self, func: Callable[[], T]) -> T:
        """From a worker: run `func` in the Tcl thread and wait for its result."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(func())
            except BaseException as exc:  # noqa: BLE001 - handed back to the worker
                future.set_exception(exc)

        self.post(run)
        return future.result()

    def _on_wake(self, fd: int, mask: int) -> None:
        try:
            os.read(self._read_fd, 4096)
        except BlockingIOError:
            pass
        while True:
            try:
                func = self._inbox.get_nowait()
            except queue.Empty:
                return
            func()

    def start_thread(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run `work` in a thread; `done(result)` then runs in the Tcl thread."""

        def body() -> None:
            result = work()
            self.post(lambda: done(result))

        threading.Thread(target=body, name="tclbridge-send", daemon=True).start()

    def close(self) -> None:
        try:
            self._tk.deletefilehandler(self._read_fd)
        except Exception:  # noqa: BLE001 - the interpreter may be gone already
            pass
        os.close(self._read_fd)
        os.close(self._write_fd)
