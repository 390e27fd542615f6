"""No import cycles in tclbridge: each module's imports point one way, so a
module can be read (and changed) knowing only what is below it. Imports
inside functions and under `if TYPE_CHECKING:` count: hiding a cycle there
leaves it in the design."""

from __future__ import annotations

from pathlib import Path

from tests.support.import_graph import cycles, import_graph, imported_names

PACKAGE = Path(__file__).resolve().parent.parent / "tclbridge"

def test_the_graph_sees_every_kind_of_import() -> None:
    """Guards the walk: imports in functions and TYPE_CHECKING blocks, relative
    ones, and `from pkg import module` are all seen."""
    source = '''
from typing import TYPE_CHECKING
from . import sibling
from ..other import thing
if TYPE_CHECKING:
    from tclbridge.interp import Interp
def later():
    import tclbridge.config
'''
    names = imported_names(source, "tclbridge.tcl.example")
    assert {"tclbridge.tcl.sibling", "tclbridge.other.thing", "tclbridge.interp",
            "tclbridge.config"} <= names


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]


def test_tclbridge_has_no_import_cycle() -> None:
    found = cycles(import_graph(PACKAGE))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(g) for g in found)
