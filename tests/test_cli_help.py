"""The command line's help is written for users: every command and option is
described, no internal notes, and no help text or message points to a file
that a `pip install` does not ship (docs/*.md, README.md, examples/, tests/);
`tclbridge help TOPIC` shows the documentation that is installed."""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge import cli
from tclbridge.differential.causes import CAUSES

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [[], ["run"], ["check"], ["scan"], ["capture"], ["capture", "list"],
            ["capture", "show"], ["capture", "serve"], ["help"]]
# What a pip install leaves out, and wording about how the project is run.
NOT_SHIPPED = ("docs/", ".md", "README", "examples/", "tests/")
INTERNAL = re.compile(r"issue \d|\bthe lead\b|\bhelper\b|\bsession \d|tclbridge\.[a-z_]+|"
                      r"this module|\bmodule\b", re.IGNORECASE)


def _help(words: list[str]) -> str:
    done = subprocess.run([sys.executable, "-m", "tclbridge", *words, "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _items(text: str) -> list[tuple[str, str]]:
    """(the item's first line, its description) for each entry of the
    "positional arguments" and "options" sections of an argparse help."""
    items: list[tuple[str, str]] = []
    section = False
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if not line.startswith(" "):
            section = line in ("positional arguments:", "options:", "optional arguments:")
            continue
        if not section or not re.match(r"  \S", line):
            continue
        same_line = re.split(r"\S  +", line.strip(), maxsplit=1)
        described = same_line[1] if len(same_line) > 1 else ""
        following = lines[n + 1] if n + 1 < len(lines) else ""
        if not described and re.match(r" {4,}\S", following):
            described = following.strip()
        items.append((line.strip(), described))
    return items


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "tclbridge")
def test_every_option_line_of_the_help_has_a_description(words: list[str]) -> None:
    text = _help(words)
    items = _items(text)
    assert len(items) >= 2, text
    assert [item for item, described in items if not described] == []
    assert text.count("\n\n") >= 2, "a description between the usage and the options"


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "tclbridge")
def test_the_help_points_to_no_source_file_and_has_no_internal_notes(words: list[str]) -> None:
    text = _help(words)
    assert [word for word in NOT_SHIPPED if word in text] == []
    assert INTERNAL.findall(text) == []


def _parsers() -> list[argparse.ArgumentParser]:
    """Every parser: the top one, each command's, each action's (`capture list`)."""
    found = [cli._build_parser()]
    for parser in found:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found += action.choices.values()
    return found


def test_every_command_and_argument_of_the_parsers_has_help() -> None:
    missing = []
    for parser in _parsers():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{parser.prog} {c.dest}" for c in action._choices_actions
                            if not c.help]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{parser.prog} {action.dest}")
        if parser.prog != "tclbridge":
            assert parser.description, parser.prog
    assert missing == []
    assert {p.prog for p in _parsers()} == {
        "tclbridge", "tclbridge run", "tclbridge check", "tclbridge scan", "tclbridge help",
        "tclbridge capture", "tclbridge capture list", "tclbridge capture show",
        "tclbridge capture serve"}


def _shipped_docs() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return project["tool"]["setuptools"]["package-data"].get("tclbridge._docs", [])


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                found.add(id(first.value))
    return found


def test_no_message_of_the_package_names_a_file_pip_does_not_install() -> None:
    """Every string constant of tclbridge/ outside docstrings (help texts, error
    messages, reports, f-string pieces): a file name of the source tree in one
    would send a user to a file their install does not have. The documents
    `tclbridge help` shows are installed, under their own names."""
    shipped = set(_shipped_docs())
    offending = []
    for path in sorted((ROOT / "tclbridge").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings and node.value not in shipped
                    and any(word in node.value for word in NOT_SHIPPED)):
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
    assert offending == []


def _tclbridge(*words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tclbridge", *words], capture_output=True,
                          text=True, timeout=60)


def test_help_lists_topics_that_each_show_an_installed_document() -> None:
    listing = _tclbridge("help")
    assert listing.returncode == 0, listing.stderr
    topics = re.findall(r"^  ([a-z-]+) ", listing.stdout, re.MULTILINE)
    assert topics == ["compat", "policy", "delivery-log", "reference"]
    assert len(_shipped_docs()) == len(topics)
    policy = _tclbridge("help", "policy")
    assert policy.returncode == 0
    assert policy.stdout == (ROOT / "docs" / "POLICY.md").read_text()
    log = _tclbridge("help", "delivery-log")
    assert (log.returncode, log.stdout) == (0, (ROOT / "docs" / "DELIVERY_LOG.md").read_text())
    missing = _tclbridge("help", "nonsense")
    assert (missing.returncode, missing.stdout) == (2, "")
    assert "no help topic 'nonsense'; topics: compat, policy, delivery-log, reference" in (
        missing.stderr)


def test_help_compat_shows_every_entry_check_and_scan_name() -> None:
    done = subprocess.run([sys.executable, "-m", "tclbridge", "help", "compat"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    names = re.findall(r"^([a-z0-9-]+)\n  tcllib: ", done.stdout, re.MULTILINE)
    assert len(names) >= 40
    assert sorted(names) == sorted(cause.name for cause in CAUSES)
    assert max(len(line) for line in done.stdout.splitlines() if line.startswith("  ")) <= 80
    one = subprocess.run([sys.executable, "-m", "tclbridge", "help", "compat", "cte-once"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "COLUMNS": "80"})
    assert one.stdout == (
        "cte-once\n"
        "  tcllib: Content-Transfer-Encoding is written twice, before and after\n"
        "    Content-Type\n"
        "  tclbridge: written once, in the first place\n"
        "  why: a duplicate header is invalid MIME and confuses parsers\n")
    unknown = _tclbridge("help", "compat", "no-such-entry")
    assert unknown.returncode == 2
    assert "no compat entry 'no-such-entry'" in unknown.stderr
