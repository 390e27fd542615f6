"""`tclbridge help [TOPIC [ENTRY]]`: the user documentation that ships with the
package (docs/*.md of the source tree, installed as tclbridge._docs), so
help texts and messages point to a topic rather than to a file a
`pip install` leaves out."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import textwrap
from pathlib import Path

# topic -> (file, one line on what it covers)
TOPICS: dict[str, tuple[str, str]] = {
    "compat": ("COMPAT.md", "where the bridge differs from tcllib on purpose, and why"),
    "policy": ("POLICY.md", "site policy files (--policy, TCLBRIDGE_POLICY) and the scan"),
    "delivery-log": ("DELIVERY_LOG.md", "the delivery log's format (--log, --syslog) and grep"),
    "reference": ("REFERENCE.md", "every environment variable, option and exit code"),
}

_DESCRIPTION = """\
Show the documentation installed with tclbridge. Without a topic, list the
topics. `tclbridge help compat NAME` shows one entry of the list of intended
differences from tcllib (the names check and scan print)."""

_ROW = re.compile(r'^\| <a id="([a-z0-9-]+)"></a>`[a-z0-9-]+` \| (.*) \|$')


def docs_dir() -> Path:
    """docs/ beside the package in a source tree; installed, the same files are
    the package data of tclbridge._docs."""
    source = Path(__file__).resolve().parent.parent / "docs"
    if (source / "COMPAT.md").exists():
        return source
    return Path(__file__).resolve().parent / "_docs"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "help", help="show the documentation installed with tclbridge (compat, policy, ...)",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("topic", nargs="?", metavar="TOPIC",
                        help=f"one of: {', '.join(TOPICS)} (default: list them)")
    parser.add_argument("entry", nargs="?", metavar="NAME",
                        help="with compat: show only this entry (e.g. header-injection)")


def main(opts: argparse.Namespace) -> int:
    """0: shown; 2: no such topic or entry, or the documentation is missing."""
    if opts.topic is None:
        print("tclbridge help TOPIC; topics:")
        for name, (_, what) in TOPICS.items():
            print(f"  {name:<12} {what}")
        return 0
    if opts.topic not in TOPICS:
        return _fail(f"no help topic {opts.topic!r}; topics: {', '.join(TOPICS)}")
    if opts.entry is not None and opts.topic != "compat":
        return _fail(f"only the compat topic has entries, not {opts.topic}")
    path = docs_dir() / TOPICS[opts.topic][0]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return _fail(f"the {opts.topic} documentation is not installed ({exc.strerror or exc})")
    if opts.topic != "compat":
        print(text, end="")
        return 0
    width = min(shutil.get_terminal_size().columns, 100)
    entries = compat_entries(text)
    if opts.entry is not None:
        if opts.entry not in entries:
            return _fail(f"no compat entry {opts.entry!r}; `tclbridge help compat` lists them")
        print(entries[opts.entry].render(width))
        return 0
    intro, _, _ = text.partition("\n| name |")
    lines = text.splitlines()
    last_row = max(n for n, line in enumerate(lines) if line.startswith("|"))
    notes = "\n".join(lines[last_row + 1:])
    print(intro.rstrip(), end="\n\n")
    print("\n\n".join(entry.render(width) for entry in entries.values()))
    print(notes.rstrip())
    return 0


class CompatEntry:
    """One row of the table of intended differences."""

    def __init__(self, name: str, tcllib: str, bridge: str, why: str) -> None:
        self.name, self.tcllib, self.bridge, self.why = name, tcllib, bridge, why

    def render(self, width: int) -> str:
        lines = [self.name]
        for label, text in (("tcllib", self.tcllib), ("tclbridge", self.bridge),
                            ("why", self.why)):
            lines += textwrap.wrap(f"{label}: {text}", width, initial_indent="  ",
                                   subsequent_indent="    ", break_on_hyphens=False)
        return "\n".join(lines)


def compat_entries(text: str) -> dict[str, CompatEntry]:
    """The table's rows by name, in table order."""
    found: dict[str, CompatEntry] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            tcllib, bridge, why = match.group(2).split(" | ")
            found[match.group(1)] = CompatEntry(match.group(1), tcllib, bridge, why)
    return found


def _fail(message: str) -> int:
    print(f"tclbridge help: {message}", file=sys.stderr)
    return 2
