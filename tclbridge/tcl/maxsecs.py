"""-maxsecs of `::smtp::sendmessage` as tcllib computes with it.

tcllib reads the option with `expr` (strings compare as strings, 0x10 is
16, NaN is a domain error) and only meets a value it cannot wait for
after the message went out. `TclMaxsecs` gives the engine's rule
(`TcllibRules.final_wait`) those comparisons; the rule itself is there.
"""

from __future__ import annotations

from typing import Any

from tclbridge.tcl import checked
from tclbridge.tcl.text import to_tk


class UnusableWait(Exception):
    """tcllib's error for a -maxsecs it cannot arm its timer with: the
    script meets it only after the message was sent (docs/COMPAT.md)."""


class TclMaxsecs:
    """The option's text, as Tcl's `expr` gives it back (0x10 -> 16).
    Raises checked.TclError where tcllib's first `expr` on it fails (NaN)."""

    def __init__(self, tk: Any, text: str) -> None:
        self._tk = tk
        self._value = self._expr("$value", to_tk(text))

    def _expr(self, expression: str, value: str) -> str:
        # tkinter hands a number over as a Python number: its text is
        # Python's (16, 1000.0, inf).
        return str(checked.call(self._tk, "::tclbridge::smtp::maxsecs_expr", expression, value))

    def _holds(self, expression: str) -> bool:
        return self._expr(expression, self._value) == "1"

    def __lt__(self, other: int) -> bool:
        return self._holds(f"$value < {int(other)}")

    def __gt__(self, other: int) -> bool:
        return self._holds(f"$value > {int(other)}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and self._holds(f"$value == {other}")

    # Unhashable, as a value equal to ints must be; typeshed types object's
    # __hash__ as a method, hence the ignore.
    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return self._value

    def __float__(self) -> float:
        failure = str(checked.call(self._tk, "::tclbridge::smtp::timer_error", self._value))
        if failure:
            raise UnusableWait(failure)
        return float(self._expr("double($value)", self._value))
