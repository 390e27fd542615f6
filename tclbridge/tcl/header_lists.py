"""The Tcl list `mime::setheader` returns: the header's values before the call.

tcllib returns the list object it already holds, so a loop of
`setheader ... -mode append` costs the same per call however many values
the header has. Handing tkinter a Python list of n values makes it build an
n-element Tcl list on every call, which made such a loop quadratic. Here each
header's values are kept as the string form of their Tcl list, grown by the
values appended since the last call: tkinter passes a string on in one copy.
"""

from __future__ import annotations

import weakref
from typing import Any

from tclbridge.mime.model import Part
from tclbridge.tcl.text import to_tk


class HeaderLists:
    """Per part and header: (the list of values, how many of them, their
    Tcl list string). A Part only ever appends to a header's value list or
    replaces the list, so the same list with at least as many values still
    starts with the values the string holds."""

    def __init__(self, tk: Any) -> None:
        self._tk = tk
        self._known: weakref.WeakKeyDictionary[Part, dict[str, tuple[list[str], int, str]]] = (
            weakref.WeakKeyDictionary()
        )

    def tcl_list(self, part: Part, key: str) -> str:
        """The Tcl list (in tkinter's characters) of the values of `key` now."""
        lower = key.lower()
        values = part.live_values(lower)
        if not values:
            return ""
        known = self._known.setdefault(part, {})
        cached = known.get(lower)
        if cached is not None and cached[0] is values and cached[1] <= len(values):
            _, count, text = cached
            if count < len(values):
                text += " " + self._elements(values[count:], first=False)
        else:
            text = self._elements(values, first=True)
        known[lower] = (values, len(values), text)
        return text

    def _elements(self, values: list[str], *, first: bool) -> str:
        """Tcl's own quoting of list elements; an element is quoted the same
        anywhere but first (where a leading "#" is braced)."""
        items = tuple(map(to_tk, values))
        if first:
            return str(self._tk.call("string", "range", items, 0, "end"))
        return str(self._tk.call("string", "range", ("x", *items), 2, "end"))
