"""The string form of a list, as Tcl's `list` writes it.

Plain text, no Tcl needed: tcllib builds some of what a script sees from
lists (its -debug lines print reply lists, its option errors quote the
option list), so the engine writes them the same way. Splitting a string
into a list needs Tcl's parser: tclbridge.tcllist.
"""

from __future__ import annotations

from collections.abc import Iterable

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
