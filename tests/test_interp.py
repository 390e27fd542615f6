"""Package resolution: the bridge wins over tcllib on auto_path."""

from __future__ import annotations

import pathlib
import subprocess

import pytest

from tclbridge import Interp

TCLLIB = sorted(pathlib.Path("/usr/share/tcltk").glob("tcllib*/mime/smtp.tcl"))


def test_tcllib_is_installed_here() -> None:
    # The resolution tests below only prove something when tcllib is there.
    assert TCLLIB, "tcllib must be installed (scripts/bootstrap.sh does it)"
    out = subprocess.run(
        ["tclsh"], input="puts [package require smtp]", capture_output=True, text=True
    )
    assert out.stdout.strip().startswith("1.5")


@pytest.mark.parametrize(
    "require",
    [
        "package require smtp",
        "package require smtp 1.4.5",
        "package require smtp 1.5",
        "package require mime; package require smtp",
        "package require mime 1.5; package require smtp",
        # A scan of every index on auto_path (tcllib's included) happens first.
        "catch {package require no-such-package}; package require smtp",
        "package require base64; package require smtp",
    ],
)
def test_bridge_packages_win(require: str) -> None:
    tcl = Interp()
    tcl.eval(require)
    assert tcl.eval("package present smtp") == "1.5.2"
    assert tcl.eval("package present mime") == "1.7.2"
    # The loaded procs are the shims, not tcllib's.
    assert "::tclbridge::py" in tcl.eval("info body ::smtp::sendmessage")
    assert tcl.eval("info exists ::smtp::trf") == "0"


def test_versions_after_tcllib_index_scan() -> None:
    tcl = Interp()
    tcl.eval("catch {package require no-such-package}")
    assert tcl.eval("package versions smtp") == "1.5.2"
    assert tcl.eval("package versions mime") == "1.7.2"


def test_tcllib_auto_path_present_in_bridge() -> None:
    tcl = Interp()
    paths = tcl.eval("set auto_path")
    assert any(str(p.parents[2]) in paths for p in TCLLIB)


def test_close_releases_the_objects_and_descriptors() -> None:
    # Registered commands point back at the Interp through Tcl, a cycle the
    # garbage collector cannot see; close() must break it and free the pipe
    # (Tcl's notifier aborts the process once descriptors pass FD_SETSIZE).
    # The Tcl interpreter is kept on purpose (see Interp.close).
    import gc
    import os
    import weakref

    fds_before = len(os.listdir("/proc/self/fd"))
    refs = []
    for _ in range(40):
        with Interp() as tcl:
            tcl.eval("package require mime; mime::initialize -canonical text/plain -string hi")
            refs.append(weakref.ref(tcl))
        del tcl
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == fds_before
    assert all(ref() is None for ref in refs)


def test_close_twice_is_harmless() -> None:
    tcl = Interp()
    tcl.close()
    tcl.close()


def test_closed_interpreters_are_freed_in_their_own_thread() -> None:
    # close() parks the Tcl app (deleting it from another thread hangs Tcl)
    # and frees parked apps of its own thread that nothing else holds: a
    # loop of interpreters (load_tcl in a long-running program) stays flat.
    from tclbridge import interp as interp_module

    for _ in range(30):
        with Interp() as tcl:
            tcl.eval("package require smtp; package require mime")
        del tcl
        assert len(interp_module._closed_interpreters) <= 1
    held = Interp()
    held.close()
    Interp().close()  # `held` still refers to its app: that one stays parked
    assert any(app is held.tk.tk for _, app in interp_module._closed_interpreters)


def test_child_interpreters_refuse_smtp_and_mime() -> None:
    # COMPAT child-interp: a child would load tcllib's smtp from auto_path
    # and send around --server, --capture and the site policy.
    with Interp() as tcl:
        tcl.eval("interp create a; interp create -safe s; a eval {interp create b}")
        refused = "is not available in a child interpreter"
        for script in ("a eval {package require smtp}", "a eval {package require mime}",
                       "a eval {package require -exact smtp 1.5.1}",
                       "a eval {b eval {package require smtp}}"):
            assert tcl.eval(f"catch {{{script}}} e") == "1", script
            assert refused in tcl.eval("set e"), script
        assert tcl.eval("catch {s eval {package require smtp}}") == "1"
        assert tcl.eval("a eval {package require base64}") == "2.5"  # other packages load
        assert tcl.eval("lsort [interp children]") == "a s"
        tcl.eval("interp delete a")
        assert tcl.eval("package require smtp") == "1.5.2"
