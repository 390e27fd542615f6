"""Running the three workloads side by side against one discard sink.

Every measurement is a fresh process (so its peak RSS is its own), rounds
alternate between the implementations (so a busy moment on the machine
hits all of them alike), and after each run the sink's count says whether
the messages really arrived.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import workloads
from bench.measure import Measured, run_measured
from bench.sink import Capacity, DiscardSink, measure_capacity

MB = 1 << 20


class BenchError(Exception):
    """A workload did not deliver what it should have."""


@dataclass(frozen=True)
class Config:
    messages: int = 500  # (a) small messages per run
    sizes: tuple[int, ...] = (1 * MB, 10 * MB, 100 * MB)  # (b) attachment sizes
    rounds: int = 5  # runs of (a) and of each size of (b), per implementation
    startup_runs: int = 20  # (c) runs per implementation
    capacity_mb: int = 200  # sink capacity: one DATA this large ...
    capacity_messages: int = 500  # ... and this many small messages


@dataclass
class Results:
    config: Config
    capacity: Capacity | None = None
    small: dict[str, list[Measured]] = field(default_factory=dict)
    attach: dict[int, dict[str, list[Measured]]] = field(default_factory=dict)
    startup: dict[str, list[Measured]] = field(default_factory=dict)
    # Messages the sink received during each workload, and how many were sent.
    delivered: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)  # 1-minute load average, before/after
    bridge_install: str = field(default_factory=workloads.bridge_install)  # (c) measured it


Progress = Callable[[str], None]


def run_all(
    config: Config, parts: str = "abc", progress: Progress = lambda line: None
) -> Results:
    results = Results(config)
    results.load.append(os.getloadavg()[0])
    with DiscardSink() as sink:
        progress("measuring what the sink absorbs")
        results.capacity = measure_capacity(sink, config.capacity_mb, config.capacity_messages)
        progress("warming up (bytecode caches, page cache)")
        for impl in workloads.IMPLEMENTATIONS:
            run_measured(workloads.small_messages(impl, sink.port, 1), 60)
        if "a" in parts:
            _small(sink, config, results, progress)
        if "b" in parts:
            _attachments(sink, config, results, progress)
    if "c" in parts:
        _startup(config, results, progress)
    results.load.append(os.getloadavg()[0])
    return results


def _delivered(sink: DiscardSink, since: int, expected: int, what: str) -> list[int]:
    got = sink.data_sizes[since:]
    if len(got) != expected:
        raise BenchError(f"{what}: the sink received {len(got)} messages, not {expected}")
    return got


def _small(sink: DiscardSink, config: Config, results: Results, progress: Progress) -> None:
    timeout = 60 + config.messages * 0.5
    for round_ in range(config.rounds):
        for impl in workloads.IMPLEMENTATIONS:
            progress(f"(a) round {round_ + 1}/{config.rounds}: {impl}")
            before = len(sink.data_sizes)
            argv = workloads.small_messages(impl, sink.port, config.messages)
            results.small.setdefault(impl, []).append(run_measured(argv, timeout))
            _delivered(sink, before, config.messages, f"(a) {impl}")
            results.delivered["a"] = results.delivered.get("a", 0) + config.messages
            results.sent["a"] = results.sent.get("a", 0) + config.messages


def _attachments(
    sink: DiscardSink, config: Config, results: Results, progress: Progress
) -> None:
    with tempfile.TemporaryDirectory(prefix="tclbridge-bench-") as tmp:
        for size in config.sizes:
            path = workloads.make_file(Path(tmp) / f"export-{size}.bin", size)
            timeout = 120 + size / MB * 3
            per_impl = results.attach.setdefault(size, {})
            for round_ in range(config.rounds):
                for impl in workloads.IMPLEMENTATIONS:
                    progress(f"(b) {size_label(size)} round {round_ + 1}/{config.rounds}: {impl}")
                    before = len(sink.data_sizes)
                    argv = workloads.attachment(impl, sink.port, path)
                    per_impl.setdefault(impl, []).append(run_measured(argv, timeout))
                    (got,) = _delivered(sink, before, 1, f"(b) {impl}")
                    # base64 makes 4 characters of every 3 bytes.
                    if got < size * 4 // 3:
                        raise BenchError(f"(b) {impl}: the sink received only {got} bytes")
                    results.delivered["b"] = results.delivered.get("b", 0) + 1
                    results.sent["b"] = results.sent.get("b", 0) + 1
            path.unlink()


def _startup(config: Config, results: Results, progress: Progress) -> None:
    progress(f"(c) start-up, {config.startup_runs} runs each")
    for _ in range(config.startup_runs):
        for impl in (workloads.BRIDGE, workloads.TCLLIB, workloads.FLOOR):
            results.startup.setdefault(impl, []).append(
                run_measured(workloads.startup(impl), 60)
            )


def size_label(size: int) -> str:
    if size >= MB and size % MB == 0:
        return f"{size // MB} MB"
    if size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} B"


def parse_size(text: str) -> int:
    """`64K`, `10M`, `1G` or a number of bytes."""
    units = {"K": 1024, "M": MB, "G": 1024 * MB}
    text = text.strip().upper().removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def parse_sizes(text: str) -> tuple[int, ...]:
    sizes: Sequence[int] = sorted(parse_size(part) for part in text.split(",") if part.strip())
    if not sizes:
        raise ValueError("no sizes given")
    return tuple(sizes)
