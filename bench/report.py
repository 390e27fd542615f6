"""Medians, ratios, the targets and the plot, from one run's results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import median

from bench.run import MB, Results, size_label
from bench.workloads import (
    BRIDGE,
    FLOOR,
    FLOOR_LABEL,
    IMPLEMENTATIONS,
    LABELS,
    SMTPLIB,
    TCLLIB,
)

# The targets: (a) messages/s ratios, (b) the largest attachment, (c) start-up.
SMALL_VS_TCLLIB = 20.0
SMALL_VS_SMTPLIB = 0.8
ATTACH_VS_TCLLIB = 7.0
PEAK_RSS_LIMIT = 64 * MB
# "Linear": the time per MB may not grow by more than this from one size to
# the next; "flat": the peak RSS may not spread more than this across sizes.
PER_MB_GROWTH = 1.25
RSS_SPREAD = 8 * MB
STARTUP_VS_TCLSH = 0.6


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    at_least: bool  # value must be >= limit (else <=)
    unit: str = "×"

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def line(self) -> str:
        sign = "≥" if self.at_least else "≤"
        shown = f"{_num(self.value)}{self.unit} (target {sign} {_num(self.limit)}{self.unit})"
        if self.met:
            return f"  met     {self.name}: {shown}"
        if self.at_least:
            gap = f"short by {(1 - self.value / self.limit) * 100:.0f}%"
        else:
            gap = f"over by {(self.value / self.limit - 1) * 100:.0f}%"
        return f"  MISSED  {self.name}: {shown}, {gap}"


def _num(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _median(values: list[float]) -> float:
    return median(values) if values else float("nan")


def small_rate(results: Results, impl: str) -> float:
    """Median messages per second of (a)."""
    count = results.config.messages
    return _median([count / m.reported for m in results.small[impl] if m.reported])


def attach_time(results: Results, size: int, impl: str) -> float:
    return _median([m.reported for m in results.attach[size][impl] if m.reported])


def attach_rss(results: Results, size: int, impl: str) -> float:
    return _median([float(m.peak_rss) for m in results.attach[size][impl]])


def startup_time(results: Results, impl: str) -> float:
    return _median([m.wall for m in results.startup[impl]])


def targets(results: Results) -> list[Target]:
    found: list[Target] = []
    if results.small:
        bridge = small_rate(results, BRIDGE)
        found.append(
            Target("(a) bridge vs tcllib, messages/s", bridge / small_rate(results, TCLLIB),
                   SMALL_VS_TCLLIB, True)
        )
        found.append(
            Target("(a) bridge vs smtplib, messages/s", bridge / small_rate(results, SMTPLIB),
                   SMALL_VS_SMTPLIB, True)
        )
    if results.attach:
        sizes = sorted(results.attach)
        big = sizes[-1]
        found.append(
            Target(
                f"(b) {size_label(big)}: bridge speed-up over tcllib",
                attach_time(results, big, TCLLIB) / attach_time(results, big, BRIDGE),
                ATTACH_VS_TCLLIB, True,
            )
        )
        found.append(
            Target(f"(b) {size_label(big)}: bridge peak RSS", attach_rss(results, big, BRIDGE) / MB,
                   PEAK_RSS_LIMIT / MB, False, " MB")
        )
        per_mb = [attach_time(results, s, BRIDGE) / s for s in sizes]
        growth = max((b / a for a, b in zip(per_mb, per_mb[1:], strict=False)), default=1.0)
        found.append(
            Target("(b) bridge time linear: largest growth of time per MB between sizes",
                   growth, PER_MB_GROWTH, False)
        )
        rss = [attach_rss(results, s, BRIDGE) for s in sizes]
        found.append(
            Target("(b) bridge memory flat: spread of peak RSS across sizes",
                   (max(rss) - min(rss)) / MB, RSS_SPREAD / MB, False, " MB")
        )
    if results.startup:
        found.append(
            Target("(c) bridge start-up vs tclsh",
                   startup_time(results, BRIDGE) / startup_time(results, TCLLIB),
                   STARTUP_VS_TCLSH, False)
        )
    return found


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]


def render(results: Results, facts: dict[str, str] | None = None) -> str:
    """The report: what ran where, the tables (Markdown) and the targets."""
    cfg = results.config
    out: list[str] = []
    if facts:
        out.append("Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()))
    if results.load:
        out.append("Load average (1 min) before/after: "
                   + " / ".join(f"{v:.2f}" for v in results.load))
    if results.capacity:
        out.append(f"Sink: {results.capacity.describe()}.")
    if results.small:
        out += ["", f"(a) {cfg.messages} small messages from one script, a new connection each "
                f"(median of {cfg.rounds} runs; ratio = bridge's messages/s ÷ this one's)", ""]
        bridge = small_rate(results, BRIDGE)
        rows = []
        for impl in IMPLEMENTATIONS:
            rate = small_rate(results, impl)
            rows.append([LABELS[impl], f"{rate:,.0f}", f"{1000 / rate:.2f}",
                         "" if impl == BRIDGE else f"{bridge / rate:.2f}×"])
        out += _table(["implementation", "messages/s", "ms/message", "bridge ÷ this"], rows)
    if results.attach:
        out += ["", f"(b) one message with a file attached (base64): time to build and send, "
                f"peak RSS of the process (median of {cfg.rounds} runs; ratio = this one's "
                "time ÷ the bridge's)", ""]
        rows = []
        for size in sorted(results.attach):
            bridge_time = attach_time(results, size, BRIDGE)
            for impl in IMPLEMENTATIONS:
                secs = attach_time(results, size, impl)
                rows.append([size_label(size), LABELS[impl], f"{secs:.3f}",
                             f"{attach_rss(results, size, impl) / MB:.1f}",
                             "" if impl == BRIDGE else f"{secs / bridge_time:.2f}×"])
        out += _table(["attachment", "implementation", "time s", "peak RSS MB",
                       "this ÷ bridge"], rows)
    if results.startup:
        out += ["", f"(c) start-up: `package require smtp; package require mime` and exit "
                f"(median wall time of {cfg.startup_runs} runs each, alternating; tclbridge "
                f"install: {results.bridge_install})", ""]
        tclsh_time = startup_time(results, TCLLIB)
        labels = {**LABELS, FLOOR: FLOOR_LABEL}
        rows = [[labels[impl], f"{startup_time(results, impl) * 1000:.0f}",
                 f"{startup_time(results, impl) / tclsh_time:.2f}×"]
                for impl in (BRIDGE, TCLLIB, FLOOR) if impl in results.startup]
        out += _table(["implementation", "start-up ms", "÷ tclsh"], rows)
    found = targets(results)
    if found:
        out += ["", "Targets:", *(t.line() for t in found)]
    return "\n".join(out)


def plot(results: Results, path: Path, title: str = "") -> Path:
    """Time and peak RSS against attachment size, one line per implementation.
    Needs matplotlib (the `bench` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")

    sizes = sorted(results.attach)
    mbs = [s / MB for s in sizes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for impl, marker in zip(IMPLEMENTATIONS, "os^", strict=True):
        left.plot(mbs, [attach_time(results, s, impl) for s in sizes], marker=marker,
                  label=LABELS[impl])
        right.plot(mbs, [attach_rss(results, s, impl) / MB for s in sizes], marker=marker,
                   label=LABELS[impl])
    right.axhline(PEAK_RSS_LIMIT / MB, color="grey", linestyle="--", linewidth=1,
                  label="target for the bridge (64 MB)")
    left.set_yscale("log")
    right.set_ylim(bottom=0)
    for ax, ylabel in ((left, "time to build and send (s)"), (right, "peak RSS (MB)")):
        ax.set_xscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("attachment size (MB, base64-encoded when sent)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
