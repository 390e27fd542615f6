"""-maxsecs becomes the final wait by one rule (tclbridge.smtp.rules), for
the Python API's number and for the Tcl option's text read with Tcl's expr."""

from __future__ import annotations

import pytest

from tclbridge import Interp
from tclbridge.smtp.rules import TCLLIB, FinalWait
from tclbridge.tcl import checked
from tclbridge.tcl.maxsecs import TclMaxsecs, UnusableWait


@pytest.mark.parametrize(("text", "number"), [
    ("30", 30), ("0", 0), ("-1", -1), ("600", 600), ("601", 601), ("700", 700),
    ("0.0", 0.0), ("-0.0", -0.0), ("600.5", 600.5), ("1e3", 1e3), ("0x10", 16), ("+5", 5),
])
def test_tcl_text_and_python_number_give_the_same_wait(tcl: Interp, text: str,
                                                         number: float) -> None:
    assert TCLLIB.final_wait(TclMaxsecs(tcl.tk.tk, text)) == TCLLIB.final_wait(number)


@pytest.mark.parametrize(("text", "wait"), [
    ("", FinalWait("0", None)),  # "" < 0 as strings: tcllib does not read the reply
    ("abc", FinalWait("abc", 600.0)),  # "abc" > 600 as strings: the cap
    ("010", FinalWait("8", 8.0)),  # octal, as Tcl 8.6 reads it
])
def test_tcl_text_compares_as_tcl_expr(tcl: Interp, text: str, wait: FinalWait) -> None:
    assert TCLLIB.final_wait(TclMaxsecs(tcl.tk.tk, text)) == wait


def test_unusable_and_nan_values_fail_as_tcllib(tcl: Interp) -> None:
    with pytest.raises(UnusableWait, match='non-numeric string as operand of "\\*"'):
        TCLLIB.final_wait(TclMaxsecs(tcl.tk.tk, "2m"))
    with pytest.raises(UnusableWait, match='bad argument "5500.0"'):
        TCLLIB.final_wait(TclMaxsecs(tcl.tk.tk, "5.50"))
    with pytest.raises(checked.TclError) as caught:
        TclMaxsecs(tcl.tk.tk, "NaN")
    assert caught.value.errorcode[:2] == ("ARITH", "DOMAIN")
