"""The command modules run on a CommandHost alone: what they use of an
interpreter is the host (its Tcl app, registration, checked calls, the token
table, the event link), never an `Interp`."""

from __future__ import annotations

import tkinter

import pytest

from tclbridge import pycall
from tclbridge.config import BridgeConfig
from tclbridge.errors import ScriptError
from tclbridge.tcl import mime_commands, smtp_commands
from tclbridge.tcl.checked import TclError
from tclbridge.tcl.host import CommandHost


@pytest.fixture
def host():
    made = CommandHost(tkinter.Tcl().tk)
    yield made
    made.close()


def test_mime_and_smtp_share_the_hosts_token_table(host: CommandHost) -> None:
    mime_commands.install(host)
    smtp = smtp_commands.install(host, BridgeConfig(timeout_scale=1.0, cafiles=[]))
    # Each Python command answers (code, result, options); the shims re-raise.
    code, token, _ = host.call("::tclbridge::py::mime::initialize", "-canonical",
                               "text/plain", "-string", "hi")
    assert (code, token) == (0, "::mime::1")
    assert host.tokens.find(token) is not None
    host.tokens.skip_numbers(2)  # as sendmessage's internal mime calls do
    assert host.call("::tclbridge::py::mime::initialize", "-canonical", "text/plain",
                     "-string", "x")[1] == "::mime::4"
    assert smtp.tokens is host.tokens and smtp.link is host.link


def test_pycall_through_the_host(host: CommandHost) -> None:
    host.eval("namespace eval ::tclbridge {proc forward {name impl} "
              "{interp alias {} $name {} $impl}}")
    pycall.install(host)
    assert host.eval("lindex [::tclbridge::py::call os.path.join a b] 1") == "a/b"


def test_close_deletes_the_registered_commands(host: CommandHost) -> None:
    mime_commands.install(host)
    host.close()
    with pytest.raises(TclError, match="invalid command name"):
        host.call("::tclbridge::py::mime::initialize")
    assert host.link.closed


def test_split_list_is_the_hosts_for_both_command_modules(host: CommandHost) -> None:
    mime = mime_commands.install(host)
    smtp = smtp_commands.install(host, BridgeConfig(timeout_scale=1.0, cafiles=[]))
    assert mime.split_list == host.split_list and smtp.split_list == host.split_list
    assert host.split_list("a {b c} d\\ e") == ["a", "b c", "d e"]
    assert host.split_list("a\0 {b\udcff}") == ["a\0", "b\udcff"]  # Tcl's characters
    # A bad list is the script's error, with Tcl's message and errorCode NONE.
    # (Caught with `except`, which drops the error at the block's end: kept,
    # its traceback would hold the host's Tcl app in a reference cycle, and
    # the collector could free it in another thread, which aborts Tcl.)
    seen = None
    try:
        host.split_list("a {b")
    except ScriptError as exc:
        seen = (exc.result, exc.errorcode)
    assert seen == ("unmatched open brace in list", ("NONE",))
