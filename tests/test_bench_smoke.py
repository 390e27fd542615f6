"""The benchmark's code path in a tiny configuration (so `python -m bench`
cannot silently rot), the sink it measures against, and the mechanisms the
benchmark numbers depend on. Nothing here is timed."""

from __future__ import annotations

import threading

from tclbridge.tcl.eventloop import WorkerThreads

WAIT = 10


def _run_and_wait(workers: WorkerThreads, job) -> None:
    finished = threading.Event()

    def wrapped() -> None:
        job()
        finished.set()

    workers.submit(wrapped)
    assert finished.wait(WAIT)


def _wait_until_idle(workers: WorkerThreads) -> None:
    """A worker counts itself idle only after its job returned."""
    for _ in range(WAIT * 100):
        if workers._idle:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the worker never became idle")


def test_worker_thread_is_reused_for_the_next_job() -> None:
    workers = WorkerThreads()
    idents: list[int] = []
    for _ in range(3):
        _run_and_wait(workers, lambda: idents.append(threading.get_ident()))
        _wait_until_idle(workers)
    workers.close()
    assert len(idents) == 3
    assert len(set(idents)) == 1


def test_job_submitted_while_worker_busy_runs_at_once_in_another_thread() -> None:
    workers = WorkerThreads()
    release = threading.Event()
    started = threading.Event()
    idents: list[int] = []

    def blocking() -> None:
        idents.append(threading.get_ident())
        started.set()
        release.wait(WAIT)

    workers.submit(blocking)
    assert started.wait(WAIT)
    _run_and_wait(workers, lambda: idents.append(threading.get_ident()))
    release.set()
    workers.close()
    assert len(set(idents)) == 2


def test_close_ends_idle_workers() -> None:
    workers = WorkerThreads()
    threads: list[threading.Thread] = []
    _run_and_wait(workers, lambda: threads.append(threading.current_thread()))
    _wait_until_idle(workers)
    workers.close()
    threads[0].join(WAIT)
    assert not threads[0].is_alive()
