"""Tcl lists: splitting a string into a list (with Tcl's own parser), and
scanning one element of a list's string form. The string form of a list
is tclbridge.listform's `format_list` (re-exported here)."""

from __future__ import annotations

from typing import Any

from tclbridge.listform import format_list
from tclbridge.tcl.text import from_tk, has_surrogate, to_tk

__all__ = ["LIST_SPACE", "format_list", "scan_element", "split_list"]


def split_list(tk: Any, text: str) -> list[str]:
    """Tcl's parsing of `text` (Tcl's characters, see tclbridge.tcl.text)
    as a list, with the Tcl app `tk`. tkinter's splitlist() refuses a str
    holding NUL or a surrogate (which a Tcl string may hold), so such text
    is parsed by Tcl itself. Raises tkinter.TclError for a bad list."""
    if "\0" not in text and not has_surrogate(text):
        return list(tk.splitlist(text))
    return list(from_tk(tk.splitlist(tk.call("lrange", to_tk(text), 0, "end"))))


LIST_SPACE = frozenset(" \t\n\r\v\f")  # what separates list elements (ASCII only, as in Tcl)
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def scan_element(text: str, start: int) -> tuple[int, str]:
    """The list element at text[start] (not a separator) as Tcl writes one in
    a list's string form: braced (braces nest, a backslashed brace does not
    count, a newline is part of it), double-quoted, or bare with backslash
    escapes. Returns where it ends and its value. An unclosed brace or quote
    runs to the end of `text` (so a masked span never stops short). One pass."""
    opener = text[start]
    if opener == "{":
        depth = 0
        i = start
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                i += 1
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return i + 1, text[start + 1:i]
            i += 1
        return len(text), text[start + 1:]
    quoted = opener == '"'
    value: list[str] = []
    i = start + 1 if quoted else start
    while i < len(text):
        ch = text[i]
        if quoted and ch == '"':
            return i + 1, "".join(value)
        if not quoted and ch in LIST_SPACE:
            break
        if ch == "\\" and i + 1 < len(text):
            i += 1
            ch = text[i]
            ch = " " if ch == "\n" else _ESCAPES.get(ch, ch)  # backslash-newline: a space
        value.append(ch)
        i += 1
    return i, "".join(value)
