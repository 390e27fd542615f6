"""Tcl text <-> Python text, one character for one character.

Tcl 8.6 strings may hold lone surrogates ("\\ud800" is a character to Tcl,
stored as the bytes ED A0 80). tkinter on Linux and macOS decodes Tcl's bytes
as UTF-8 with "surrogateescape", so such a character reaches Python as three
escape characters ("\\udced\\udca0\\udc80"), and it refuses a real lone
surrogate going the other way. The bridge's Python code works on real
characters instead (so lengths, low bytes and `encoding convertfrom` work as
they do in Tcl, and the wire encoder writes Tcl's bytes with "surrogatepass"):
`from_tk` turns what tkinter gives into that form, `to_tk` turns it back.
Both leave text without surrogates alone (ASCII is answered in O(1)).
"""

from __future__ import annotations

import re
import sys
from typing import Any

# The escapes tkinter makes for bytes that are not UTF-8. A Tcl surrogate's
# bytes start with ED, so its escapes start with U+DCED.
_ESCAPES = re.compile(r"[\udc80-\udcff]+")
_FIRST_ESCAPE = "\udced"
_TCL_NUL = "\udcc0\udc80"
# Windows builds of tkinter hand Tcl UTF-16 with "surrogatepass": real
# lone surrogates already cross as they are.
_TK_ESCAPES = sys.platform != "win32"
_CHECK_PIECE = 1 << 20


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a surrogate code point, in time linear in its
    length and fast: a str stored with one byte a character (CPython)
    cannot hold one, and the UTF-16 encoder refuses one at C speed."""
    if text.isascii() or sys.getsizeof(text) < 2 * len(text):
        return False
    try:
        for start in range(0, len(text), _CHECK_PIECE):
            text[start : start + _CHECK_PIECE].encode("utf-16-le")
    except UnicodeEncodeError:
        return True
    return False


def _unescape(match: re.Match[str]) -> str:
    raw = match.group().encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return match.group()  # not a Tcl surrogate: leave the bytes' escapes


def from_tk(value: Any) -> Any:
    """A value tkinter gave us (str or tuple of them) with Tcl's characters."""
    if isinstance(value, str):
        if _FIRST_ESCAPE not in value:
            return value
        return _ESCAPES.sub(_unescape, value)
    if isinstance(value, tuple):
        return tuple(from_tk(v) for v in value)
    return value


def to_tk(value: Any) -> Any:
    """A str (or list/tuple of them) in the form tkinter passes to Tcl as
    the same characters."""
    if isinstance(value, str):
        if not _TK_ESCAPES:
            return value
        if has_surrogate(value):
            value = value.encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")
        if "\x00" in value:
            # tkinter writes NUL as a 0 byte, which Tcl's C-string routines
            # (`scan` among them) take for the end of the text; Tcl's own
            # form of NUL is C0 80, which these escapes become.
            value = value.replace("\x00", _TCL_NUL)
        return value
    if isinstance(value, (tuple, list)):
        return tuple(to_tk(v) for v in value)
    return value
