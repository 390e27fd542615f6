"""Tcl lists: the string form, for text tcllib builds from lists (its
-debug lines print reply lists), and splitting a string into a list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tclbridge.tcl.text import from_tk, has_surrogate, to_tk

_SPECIAL = set(' \t\n\r\v\f;"$[]{}\\')


def _element(value: object) -> str:
    if isinstance(value, (list, tuple)):
        text = format_list(value)
    else:
        text = str(value)
    if text == "":
        return "{}"
    if not any(ch in _SPECIAL for ch in text) and not text.startswith("#"):
        return text
    if _braces_balanced(text) and not text.endswith("\\"):
        return "{" + text + "}"
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)


def _braces_balanced(text: str) -> bool:
    depth = 0
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def format_list(items: Iterable[object]) -> str:
    """Like Tcl's `list`: elements quoted with braces where needed."""
    return " ".join(_element(item) for item in items)


def split_list(tk: Any, text: str) -> list[str]:
    """Tcl's parsing of `text` (Tcl's characters, see tclbridge.tcl.text)
    as a list, with the Tcl app `tk`. tkinter's splitlist() refuses a str
    holding NUL or a surrogate (which a Tcl string may hold), so such text
    is parsed by Tcl itself. Raises tkinter.TclError for a bad list."""
    if "\0" not in text and not has_surrogate(text):
        return list(tk.splitlist(text))
    return list(from_tk(tk.splitlist(tk.call("lrange", to_tk(text), 0, "end"))))
