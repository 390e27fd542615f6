"""Both directions between the languages: `tclbridge::call` (Tcl calling
Python) and `tclbridge.load_tcl` (Python calling a Tcl file's procs)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tclbridge
from tclbridge import Interp, TclCallError, load_tcl
from tclbridge.recorder import RecordingServer, ServerScript
from tclbridge.smtp import SMTPRefusedError

ROOT = Path(__file__).resolve().parent.parent
HERE = "tests.test_interop"


# -- Python functions the Tcl side calls ----------------------------------------

def give(kind: str) -> object:
    return {
        "none": None,
        "str": "two words",
        "int": 42,
        "float": 2.5,
        "true": True,
        "false": False,
        "list": ["a b", "c", ["nested", 1]],
        "tuple": ("x", 2),
        "dict": {"name": "web 01", "up": True, "tags": ["a", "b"]},
        "bytes": b"a\x00\xff",
    }[kind]


def give_odd(kind: str) -> object:
    """Results that have no Tcl value."""
    looped: list = ["a"]
    looped.append(looped)
    return {
        "set": {1, 2},
        "generator": (n for n in range(3)),
        "object": Report(),
        "nested": ["ok", {"k": frozenset()}],
        "tuple_key": {("a", 1): "x"},
        "looped": looped,
    }[kind]


def arg_types(*args: object) -> str:
    return " ".join(type(a).__name__ for a in args)


def fail(message: str) -> None:
    raise ValueError(message)


def leave(code: str) -> None:
    sys.exit(int(code))


def interrupt() -> None:
    raise KeyboardInterrupt


class Report:
    @staticmethod
    def title(name: str) -> str:
        return f"Report for {name}"


# -- tclbridge::call ---------------------------------------------------------------

def test_call_is_there_without_package_require(script_tcl: Interp) -> None:
    assert script_tcl.eval("info commands ::tclbridge::call") == "::tclbridge::call"
    assert script_tcl.eval(f"tclbridge::call {HERE}.give str") == "two words"
    assert script_tcl.eval("package require tclbridge") == tclbridge.__version__


@pytest.mark.parametrize(
    ("kind", "script", "expected"),
    [
        ("none", "string length $r", "0"),
        ("str", "set r", "two words"),
        ("int", "expr {$r + 1}", "43"),
        ("float", "expr {$r * 2}", "5.0"),
        ("true", "set r", "1"),
        ("false", "set r", "0"),
        ("list", "list [llength $r] [lindex $r 0] [lindex $r 2 0] [lindex $r 2 1]",
         "3 {a b} nested 1"),
        ("tuple", "set r", "x 2"),
        ("dict", "list [dict get $r name] [dict get $r up] [lindex [dict get $r tags] 1]",
         "{web 01} 1 b"),
        ("bytes", "list [string length $r] [scan [string index $r 2] %c]", "3 255"),
    ],
)
def test_values_converted_to_tcl(script_tcl: Interp, kind: str, script: str, expected: str) -> None:
    script_tcl.eval(f"set r [tclbridge::call {HERE}.give {kind}]")
    assert script_tcl.eval(script) == expected


def test_arguments_arrive_as_strings(script_tcl: Interp) -> None:
    assert script_tcl.eval(f"tclbridge::call {HERE}.arg_types 1 2.5 {{a b}} [list x y]") == (
        "str str str str"
    )
    assert script_tcl.eval(f"tclbridge::call {HERE}.Report.title {{db 01}}") == "Report for db 01"


@pytest.mark.parametrize(
    ("call", "message", "errorcode"),
    [
        (f"{HERE}.fail {{disk full}}", f"{HERE}.fail: ValueError: disk full",
         "PYTHON ValueError {disk full}"),
        (f"{HERE}.fail", f"{HERE}.fail: TypeError: fail() missing 1 required positional "
         "argument: 'message'", "PYTHON TypeError {fail() missing 1 required positional "
         "argument: 'message'}"),
        ("no_such_module_x.f", "no_such_module_x.f: ModuleNotFoundError: No module named "
         "'no_such_module_x'", "PYTHON ModuleNotFoundError {No module named "
         "'no_such_module_x'}"),
        (f"{HERE}.missing", f"{HERE}.missing: AttributeError: module '{HERE}' has no "
         "attribute 'missing'", f"PYTHON AttributeError {{module '{HERE}' has no attribute "
         "'missing'}"),
        ("nodots", "nodots: ValueError: expected module.function, got 'nodots'",
         "PYTHON ValueError {expected module.function, got 'nodots'}"),
        (f"{HERE}.leave 3", f"{HERE}.leave: SystemExit: 3", "PYTHON SystemExit 3"),
        (f"{HERE}.interrupt", f"{HERE}.interrupt: KeyboardInterrupt",
         "PYTHON KeyboardInterrupt {}"),
    ],
)
def test_python_errors_become_tcl_errors(
    script_tcl: Interp, call: str, message: str, errorcode: str
) -> None:
    assert script_tcl.eval(f"catch {{tclbridge::call {call}}} msg opts") == "1"
    assert script_tcl.eval("set msg") == message
    assert script_tcl.eval("dict get $opts -errorcode") == errorcode
    assert "Traceback" not in script_tcl.eval("dict get $opts -errorinfo")


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        ("set", "a set"),
        ("generator", "a generator"),
        ("object", "a Report"),
        ("nested", "a list holding a dict holding a frozenset"),
        ("tuple_key", "a dict with a tuple key"),
    ],
)
def test_results_without_tcl_value_are_errors(script_tcl: Interp, kind: str, what: str) -> None:
    assert script_tcl.eval(f"catch {{tclbridge::call {HERE}.give_odd {kind}}} msg opts") == "1"
    message = f"{HERE}.give_odd returned {what}, which has no Tcl value"
    assert script_tcl.eval("set msg") == message
    errorcode = script_tcl.tk.splitlist(script_tcl.eval("dict get $opts -errorcode"))
    assert errorcode == ("PYTHON", "TypeError", message)


def test_result_conversion_failure_is_a_python_error(script_tcl: Interp) -> None:
    assert script_tcl.eval(f"catch {{tclbridge::call {HERE}.give_odd looped}} msg opts") == "1"
    assert script_tcl.eval("set msg").startswith(f"{HERE}.give_odd: RecursionError: ")
    assert script_tcl.eval("lrange [dict get $opts -errorcode] 0 1") == "PYTHON RecursionError"


def test_wrong_args(script_tcl: Interp) -> None:
    assert script_tcl.eval("catch {tclbridge::call} msg opts") == "1"
    assert script_tcl.eval("set msg") == (
        'wrong # args: should be "::tclbridge::call module.function ?arg ...?"'
    )


def test_script_calls_a_module_beside_it(tmp_path: Path) -> None:
    (tmp_path / "hosts_beside.py").write_text(
        "def names(prefix):\n    return [prefix + '1', prefix + ' 2']\n"
    )
    script = tmp_path / "report.tcl"
    script.write_text(
        "set names [tclbridge::call hosts_beside.names web]\n"
        "puts [llength $names]:[lindex $names 1]\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", str(script)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "2:web 2\n", "")


# -- load_tcl ----------------------------------------------------------------------

LEGACY = r"""
package require smtp
proc add {a b} { return [expr {$a + $b}] }
proc pair {} { return [list "a b" c] }
proc boom {} { error "it broke" "" {MYAPP BROKEN} }
proc refuse {result} { return -code 7 $result }
proc shape {value} { return [list [llength $value] [lindex $value end]] }
proc title {name} { return [tclbridge::call tests.test_interop.Report.title $name] }
proc mail {port to} {
    set tok [mime::initialize -canonical text/plain -string "hello\n"]
    set r [smtp::sendmessage $tok -servers 127.0.0.1 -ports $port \
        -header {From me@x.y} -header [list To $to] -atleastone 1]
    mime::finalize $tok
    return $r
}
set ran_main 0
if {[info script] eq $argv0} {
    set ran_main 1
}
"""


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator:
    path = tmp_path / "legacy.tcl"
    path.write_text(LEGACY)
    module = load_tcl(path)
    yield module
    module.close()
    del module
    gc.collect()


def test_procs_called_from_python(legacy) -> None:
    assert legacy.call("add", 2, 3) == "5"
    assert legacy.add("2", "40") == "42"
    assert legacy.call_list("pair") == ["a b", "c"]
    assert legacy.getvar("ran_main") == "0"  # loaded, not run: main part skipped
    # Python values arrive as Tcl values.
    assert legacy.call_list("shape", [("web01", "ok"), ("db 01", "down")]) == ["2", "{db 01} down"]
    assert legacy.call_list("shape", {"a": 1, "b": None}) == ["4", ""]
    assert legacy.call_list("shape", True) == ["1", "1"]
    # Python -> Tcl -> Python.
    assert legacy.title("web 01") == "Report for web 01"


def test_tcl_errors_raise(legacy) -> None:
    with pytest.raises(TclCallError) as caught:
        legacy.boom()
    assert (str(caught.value), caught.value.errorcode) == ("it broke", "MYAPP BROKEN")
    assert '(procedure "boom" line 1)' in caught.value.errorinfo
    with pytest.raises(TclCallError, match='invalid command name "nosuch"'):
        legacy.nosuch()


def test_legacy_mailer_proc_from_python(legacy) -> None:
    script = ServerScript(replies={"RCPT:bad@x.y": "550 5.1.1 unknown",
                                   "RCPT:late@x.y": "550 5.1.1 unknown"})
    with RecordingServer(script) as srv:
        assert legacy.mail(srv.port, "a@x.y") == ""
        assert legacy.call_list("mail", srv.port, "a@x.y, bad@x.y") == [
            "bad@x.y 550 {5.1.1 unknown}"
        ]
    assert [m.rcpt_tos for m in srv.messages] == [["a@x.y"], ["a@x.y"]]
    with RecordingServer(ServerScript(replies={"MAIL": "553 5.7.1 go away"})) as srv:
        with pytest.raises(SMTPRefusedError) as caught:
            legacy.mail(srv.port, "a@x.y")
    assert (caught.value.code, caught.value.diagnostic) == (553, "5.7.1 go away")


@pytest.mark.parametrize(("result", "expected"), [
    # tcllib's reply lists: the reply read back, the list as the proc gave it.
    ("diagnostic {5.7.1 go away} args {} code 553",
     (553, "5.7.1 go away", "553 5.7.1 go away",
      ["diagnostic", "5.7.1 go away", "args", "", "code", "553"])),
    ("code 400 diagnostic {timed out}",
     (400, "timed out", "400 timed out", ["code", "400", "diagnostic", "timed out"])),
    # tcllib with -maxsecs 0 read no reply.
    ("", (None, "", "", "")),
])
def test_a_code_7_a_proc_passes_on_keeps_its_result(legacy, result: str,
                                                    expected: tuple) -> None:
    with pytest.raises(SMTPRefusedError) as caught:
        legacy.refuse(result)
    error = caught.value
    assert type(error) is SMTPRefusedError  # where it was refused is not said
    assert (error.code, error.diagnostic, str(error), error.tcl_result) == expected


def test_a_code_7_that_is_no_reply_list_is_passed_on_as_given(legacy) -> None:
    with pytest.raises(SMTPRefusedError) as caught:
        legacy.refuse("connection lost")
    assert (caught.value.code, caught.value.tcl_result) == (None, ["connection", "lost"])


def test_load_errors_raise(tmp_path: Path) -> None:
    path = tmp_path / "broken.tcl"
    path.write_text("proc ok {} {}\nerror {cannot start}\n")
    with pytest.raises(TclCallError, match="^cannot start$"):
        load_tcl(path)
    gc.collect()
    with pytest.raises(TclCallError, match="couldn't read file"):
        load_tcl(tmp_path / "missing.tcl")
    gc.collect()


EXITS = r"""
proc early {} { return "defined before exit" }
proc leave {code} { exit $code }
exit 0
proc late {} { return "after exit" }
"""


def test_exit_while_loading_stops_the_file(tmp_path: Path) -> None:
    path = tmp_path / "exits.tcl"
    path.write_text(EXITS)
    with load_tcl(path) as module:
        assert module.early() == "defined before exit"
        assert module.eval("info procs late") == ""  # sourcing stopped at exit
        with pytest.raises(TclCallError) as caught:
            module.leave("1")
        assert str(caught.value) == (
            "exit 1: a Tcl file loaded with tclbridge.load_tcl cannot end the Python process")
        assert caught.value.errorcode == "TCLBRIDGE EXIT 1"
        assert '(procedure "leave" line 1)' in caught.value.errorinfo
        with pytest.raises(TclCallError, match=r"^exit 0: ") as caught:
            module.leave("0")
        assert caught.value.errorcode == "TCLBRIDGE EXIT 0"
        with pytest.raises(TclCallError, match='^expected integer but got "x"$'):
            module.leave("x")
    gc.collect()


def test_exit_nonzero_while_loading_raises(tmp_path: Path) -> None:
    path = tmp_path / "fails.tcl"
    path.write_text("proc ok {} {}\nexit 3\n")
    with pytest.raises(TclCallError) as caught:
        load_tcl(path)
    assert str(caught.value) == f"{path} called exit 3 while being loaded"
    assert caught.value.errorcode == "TCLBRIDGE EXIT 3"
    gc.collect()
