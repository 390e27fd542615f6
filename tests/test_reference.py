"""docs/REFERENCE.md cannot drift from the code: it lists every TCLBRIDGE_*
variable the package reads (and no other), every option each command's
parser defines, under that command, and every exit code the command line
ends with. The user docs say nothing of how the project is organised."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

from tclbridge import cli

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (ROOT / "docs" / "REFERENCE.md").read_text(encoding="utf-8")
VARIABLE = re.compile(r"\bTCLBRIDGE_[A-Z0-9_]*[A-Z0-9]")


def _variables_in_package() -> set[str]:
    sources = [*(ROOT / "tclbridge").rglob("*.py"), *(ROOT / "tcl_shims").glob("*.tcl")]
    return {name for path in sources for name in VARIABLE.findall(path.read_text("utf-8"))}


def _section(heading: str) -> str:
    """The text under `## heading` or `### heading...`, up to the next heading
    of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}.*?\n(.*?)(?=^#{{1,3}} |\Z)", REFERENCE,
                      re.MULTILINE | re.DOTALL)
    assert match, heading
    return match.group(2)


def test_every_variable_the_package_reads_is_listed_and_no_other() -> None:
    in_package = _variables_in_package()
    assert len(in_package) >= 13
    listed = set(re.findall(r"^\| `(TCLBRIDGE_[A-Z0-9_]+)", _section("Environment variables"),
                            re.MULTILINE))
    assert sorted(in_package - listed) == []
    assert sorted(listed - in_package) == []


def _commands() -> dict[str, argparse.ArgumentParser]:
    top = cli._build_parser()
    (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_of_every_command_is_listed_under_that_command() -> None:
    commands = _commands()
    assert set(commands) == {"run", "check", "scan", "capture", "help"}
    # A command with actions of its own (`capture list`) has a section per action.
    actions = {name: dict(sub.choices) for name, parser in commands.items()
               for sub in parser._actions if isinstance(sub, argparse._SubParsersAction)}
    assert set(actions.get("capture", ())) >= {"list", "show"}
    sections = {f"{name} {action}": parser for name, parser in commands.items()
                for action, parser in actions.get(name, {"": parser}).items()}
    missing = []
    for name, parser in sections.items():
        section = _section(f"`tclbridge {name.strip()}")
        listed = set(re.findall(r"`(--?[a-z][a-z-]*)", section))
        for action in parser._actions:
            missing += [f"{name.strip()} {option}" for option in action.option_strings
                        if option not in listed]
    assert missing == []


def _finish_codes() -> set[int]:
    """The literal exit codes the command line passes to _finish()."""
    tree = ast.parse((ROOT / "tclbridge" / "cli.py").read_text(encoding="utf-8"))
    return {call.args[0].value for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "_finish"
            and call.args and isinstance(call.args[0], ast.Constant)}


def test_every_exit_code_is_listed() -> None:
    table = _section("Exit codes")
    listed = {int(code) for row in re.findall(r"^\| ([0-9, ]+) \|", table, re.MULTILINE)
              for code in row.split(", ")}
    assert _finish_codes() <= listed, _finish_codes()
    assert {0, 1, 2, 70, 129, 130, 141, 143} <= listed
    assert "| N | the script's own `exit N`" in table


# How the work on the project is organised is no reader's business.
ORGANISATION = re.compile(r"\bissues? #?\d+|\(issue\b|\bthe lead\b|\bh-[a-z]+ branch|"
                          r"\bh-lead\b|\bhelpers? (?:session|branch|brief)|\bbrief\b",
                          re.IGNORECASE)


def test_the_docs_say_nothing_of_how_the_project_is_organised() -> None:
    docs = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = [f"{path.name}: {hit}" for path in docs
             for hit in ORGANISATION.findall(path.read_text(encoding="utf-8"))]
    assert len(docs) >= 7
    assert found == []
