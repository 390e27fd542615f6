"""Tcl's own string forms of values, for tests that need what Tcl writes."""

from __future__ import annotations

import tkinter


def list_string(tk: tkinter.Tcl, *words: str) -> str:
    """The string form Tcl gives `list` of `words` (as tcllib quotes an option list back)."""
    tk.setvar("tcl_lists_words", words)
    return str(tk.eval("format %s [list {*}$tcl_lists_words]"))


def tcl_literal(value: str) -> str:
    """`value` as a double-quoted Tcl word of ASCII letters, digits and \\u
    escapes: a script holding it does not hold the value's text."""
    return '"' + "".join(_escaped(ch) for ch in value) + '"'


def _escaped(ch: str) -> str:
    if ch.isascii() and ch.isalnum():
        return ch
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
