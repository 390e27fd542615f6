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
        self._workers = WorkerThreads()

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
        """Run `work` in a worker thread; `done(result)` then runs in the Tcl
        thread."""

        def body() -> None:
            result = work()
            self.post(lambda: done(result))

        self._workers.submit(body)

    @property
    def closed(self) -> bool:
        return self._read_fd < 0

    def close(self) -> None:
        if self.closed:
            return
        self._workers.close()
        try:
            self._tk.deletefilehandler(self._read_fd)
        except Exception:  # noqa: BLE001 - the interpreter may be gone already
            pass
        os.close(self._read_fd)
        os.close(self._write_fd)
        self._read_fd = self._write_fd = -1


class WorkerThreads:
    """Daemon threads kept for the next job. Starting a thread per send and
    waiting for it to run cost ~1.5 ms, as much as a whole send on loopback;
    an idle thread takes the job at once. A job that arrives while all are
    busy (a send from an `after` handler during another send) gets a new
    thread, so sends never wait for each other."""

    def __init__(self, idle_timeout: float = 30.0) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Threads waiting for a job, less the jobs queued for them.
        self._idle = 0
        self._closed = False
        # An idle thread ends after this long, so an interpreter that is
        # never closed does not keep threads forever.
        self._idle_timeout = idle_timeout

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1
        self._jobs.put(job)
        if spawn:
            threading.Thread(target=self._serve, name="tclbridge-send", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_timeout)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # else a job was queued for this thread
                        self._idle -= 1
                        return
                continue
            if job is None:
                return
            job()
            # The job may hold the last reference to a Tcl interpreter once
            # its caller is done with it; an interpreter freed in this thread
            # aborts the process. Let go now, while the caller still holds it.
            job = None
            with self._lock:
                if self._closed:
                    return
                self._idle += 1

    def close(self) -> None:
        """Let idle threads end; busy ones end after their job."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)
