"""tclbridge.printable: what the capture summary and check's fleet table and
report show of names and texts a script controls."""

from __future__ import annotations

import os

import pytest

from tclbridge.printable import printable


@pytest.mark.parametrize(("text", "shown"), [
    ("plain name.tcl", "plain name.tcl"),
    ("caf\u00e9 \u65e5\u672c.tcl", "caf\u00e9 \u65e5\u672c.tcl"),  # printable non-ASCII kept
    ("a\nb\tc\x1b[2J\x00", "a\\x0ab\\x09c\\x1b[2J\\x00"),  # C0
    ("del\x7f", "del\\x7f"),
    ("csi\x9b31m nel\x85", "csi\\x9b31m nel\\x85"),  # C1: U+009B is a one-character CSI
    ("rlo\u202egnp.tcl zw\u200b ls\u2028", "rlo\\u202egnp.tcl zw\\u200b ls\\u2028"),
    ("tag\U000e0041", "tag\\U000e0041"),
    # A lone surrogate: undecodable bytes of a file name stand for themselves.
    (os.fsdecode(b"bad\xff\x9b.tcl"), "bad\\xff\\x9b.tcl"),
    ("lone \ud800", "lone \\ud800"),
])
def test_unprintable_characters_are_escaped(text: str, shown: str) -> None:
    assert printable(text) == shown
    shown.encode("utf-8")  # always writable as UTF-8

