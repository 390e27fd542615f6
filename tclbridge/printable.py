"""Text from scripts, mail and file names made safe to print on a terminal
and to write as UTF-8 (the capture summary, check's fleet table and report).

A terminal acts on control characters: C0 (a newline splits a table row, ESC
starts a sequence), DEL, and C1 (U+009B is a one-character CSI). Other
unprintable characters (a right-to-left override, a zero-width space) change
what a line seems to say. File names that are not valid UTF-8 reach Python
as lone surrogates (os.fsdecode's surrogateescape), which UTF-8 cannot
encode: writing them raises UnicodeEncodeError. Each of these is shown as an
escape instead: the byte a surrogate stands for as \\xNN, any other
character below U+0100 as \\xNN, the rest as \\uNNNN or \\UNNNNNNNN.
"""

from __future__ import annotations

_ESCAPED_BYTES = range(0xDC80, 0xDD00)  # surrogateescape's stand-ins for bytes 0x80-0xFF


def printable(text: str) -> str:
    """`text` with every unprintable character escaped (see the module)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
