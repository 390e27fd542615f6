"""errorCodes are written in one place.

The errorCodes the Tcl layer gives (Tcl's own where the bridge stands in
for a Tcl command, and the bridge's) are named in
tclbridge/tcl/errorcodes.py. This walks every module of tclbridge/ and
fails on a tuple or list literal that starts with an errorCode's first word
anywhere else: a new errorCode gets its name there, and a second spelling
of one cannot drift from the first.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tclbridge"
THE_PLACE = PACKAGE / "tcl" / "errorcodes.py"

# The first words of errorCodes: Tcl's (its manual, `tclvars`) and the
# bridge's own. Other upper-case tuples (table headers, SMTP verbs) start
# with other words.
FIRST_WORDS = frozenset({
    "ARITH", "CHILDKILLED", "CHILDSTATUS", "CHILDSUSP", "NONE", "POSIX", "TCL",
    "TCLBRIDGE", "MIME", "PYTHON",
})


def errorcode_literals(source: str) -> list[str]:
    """Each tuple or list literal in `source` that looks like an errorCode,
    as "line: text"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Tuple, ast.List)) or not node.elts:
            continue
        first = node.elts[0]
        if isinstance(first, ast.Constant) and first.value in FIRST_WORDS:
            found.append((node.lineno, node.col_offset, ast.unparse(node)))
    return [f"{line}: {text}" for line, _, text in sorted(found)]


def test_the_walk_sees_what_it_must() -> None:
    """Guards the walk: each way an errorCode gets written is caught, and
    upper-case tuples that are not errorCodes pass."""
    source = '''
WRONG = ("TCL", "WRONGARGS")
def f(code=("NONE",)):
    raise Failure("x", ("TCL", "READ", "VARNAME"))
def g(exc):
    return ("POSIX", errno.errorcode.get(exc.errno, "EIO"), exc.reason)
words[:2] == ["TCLBRIDGE", "EXIT"]
error(kind, ("PYTHON", kind, text))
header = ("FILE", "SMTP", "MIME")
rows = [("FILE", "VERDICT", "DETAIL")]
verbs = ("NOOP", "QUIT")
code = (str(reply),)
'''
    assert [line.split(": ", 1)[1] for line in errorcode_literals(source)] == [
        "('TCL', 'WRONGARGS')",
        "('NONE',)",
        "('TCL', 'READ', 'VARNAME')",
        "('POSIX', errno.errorcode.get(exc.errno, 'EIO'), exc.reason)",
        "['TCLBRIDGE', 'EXIT']",
        "('PYTHON', kind, text)",
    ]


def test_errorcodes_are_written_in_errorcodes_py_only() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == THE_PLACE:
            continue
        literals = errorcode_literals(path.read_text(encoding="utf-8"))
        if literals:
            found[str(path.relative_to(PACKAGE.parent))] = literals
    assert found == {}


def test_the_place_holds_errorcodes() -> None:
    """The walk would find nothing if the words above were wrong."""
    assert len(errorcode_literals(THE_PLACE.read_text(encoding="utf-8"))) >= 10
