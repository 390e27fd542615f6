"""`python -m bench`: tclbridge vs tclsh + tcllib vs Python's email + smtplib,
side by side in one run, against one discard sink on 127.0.0.1.

(a) many small messages, a new connection each; (b) one message with a 1,
10 and 100 MB attachment: time and peak RSS; (c) start-up. Prints Markdown
tables of medians and ratios and the targets, and draws the
attachment plot (needs the `bench` extra, matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from bench import report, run, workloads

DEFAULT_PLOT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.png"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500, help="(a) messages per run")
    parser.add_argument("--sizes", type=run.parse_sizes, default=run.Config.sizes,
                        help="(b) attachment sizes, e.g. 1M,10M,100M or 64K")
    parser.add_argument("--rounds", type=int, default=run.Config.rounds,
                        help="runs per implementation of (a) and of each size of (b)")
    parser.add_argument("--startup-runs", type=int, default=20, help="(c) runs each")
    parser.add_argument("--parts", default="abc", help="which of a, b, c to run")
    parser.add_argument("--capacity-mb", type=int, default=200,
                        help="size of the DATA that measures the sink")
    parser.add_argument("--capacity-messages", type=int,
                        help="small messages that measure the sink (default: --messages, "
                        "at least 50)")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT,
                        help="where to write the PNG (default: docs/benchmarks.png)")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    return parser


def main(argv: list[str] | None = None) -> int:
    opts = _parser().parse_args(argv)
    config = run.Config(
        messages=opts.messages, sizes=opts.sizes, rounds=opts.rounds,
        startup_runs=opts.startup_runs, capacity_mb=opts.capacity_mb,
        capacity_messages=opts.capacity_messages or max(opts.messages, 50),
    )
    facts = {**workloads.machine(), **workloads.versions()}

    def progress(line: str) -> None:
        print(f"... {line}", file=sys.stderr, flush=True)

    results = run.run_all(config, opts.parts, progress)
    print(report.render(results, facts))
    if opts.json:
        raw = {"facts": facts, "labels": workloads.LABELS, **asdict(results)}
        raw["attach"] = {str(k): v for k, v in raw["attach"].items()}
        opts.json.write_text(json.dumps(raw, indent=1))
    if results.attach and not opts.no_plot:
        try:
            path = report.plot(results, opts.plot, _title(facts))
        except ImportError:
            print("\nNo plot: matplotlib is missing (pip install -e '.[bench]').")
        else:
            print(f"\nPlot: {path}")
    return 0


def _title(facts: dict[str, str]) -> str:
    return (f"{facts.get('cpu', '?')}, {facts.get('cpus', '?')} CPUs; Python "
            f"{facts.get('python')}, tclsh {facts.get('tclsh')}, tcllib smtp "
            f"{facts.get('tcllib smtp')} / mime {facts.get('tcllib mime')}")


if __name__ == "__main__":
    sys.exit(main())
