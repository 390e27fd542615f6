"""`Interp.eval` and `Interp.call` errors say what Tcl said."""

from __future__ import annotations

import tkinter

import pytest

import tclbridge
from tclbridge import Interp


def test_interp_eval_errors_carry_errorcode_and_errorinfo() -> None:
    with Interp() as tcl:
        tcl.eval("proc boom {} { error {it broke} {} {MYAPP BROKEN} }")
        with pytest.raises(tkinter.TclError) as caught:
            tcl.eval("boom")
        error = caught.value
        assert isinstance(error, tclbridge.TclError)
        assert str(error) == "it broke"
        assert error.errorcode == ("MYAPP", "BROKEN")  # type: ignore[attr-defined]
        assert '(procedure "boom" line 1)' in error.errorinfo  # type: ignore[attr-defined]
        with pytest.raises(tkinter.TclError) as caught:
            tcl.call("expr", "1/0")
        assert caught.value.errorcode == ("ARITH", "DIVZERO", "divide by zero")  # type: ignore[attr-defined]
        # A plain error has errorCode NONE; a later success changes nothing.
        with pytest.raises(tclbridge.TclError) as plain:
            tcl.eval("error plain")
        assert tcl.eval("set x 1") == "1"
        assert (str(plain.value), plain.value.errorcode) == ("plain", ("NONE",))
