"""The Tcl event loop keeps running while a send waits on the server."""

from __future__ import annotations

import resource

from tests.support.interps import new_interp
from tests.support.recording import scripted_server


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_timers_fire_during_slow_send() -> None:
    with scripted_server(delays={"DOT": 1.0}) as srv:
        tcl = new_interp(timeout_scale=1)
        tcl.eval("set ::ticks 0; proc tick {} {incr ::ticks; after 50 tick}; after 50 tick")
        tcl.eval("set tok [mime::initialize -canonical text/plain -string hi]")
        tcl.eval(f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {srv.port} -header {{To a@x}}")
        ticks = int(tcl.eval("set ::ticks"))
        assert ticks >= 10, ticks
        assert len(srv.messages) == 1


def test_fileevent_fires_during_send() -> None:
    with scripted_server(delays={"DOT": 0.5}) as srv:
        tcl = new_interp(timeout_scale=1)
        tcl.eval(
            "lassign [chan pipe] r w; fconfigure $r -blocking 0; set ::got {}\n"
            "fileevent $r readable {append ::got [read $r]}\n"
            "after 100 {puts -nonewline $w ping; flush $w}"
        )
        tcl.eval("set tok [mime::initialize -canonical text/plain -string hi]")
        tcl.eval(f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {srv.port} -header {{To a@x}}")
        assert tcl.eval("set ::got") == "ping"


def test_send_started_from_event_handler_during_send_completes() -> None:
    with scripted_server(delays={"DOT": 0.6}) as srv:
        tcl = new_interp(timeout_scale=1)
        tcl.eval("set tok [mime::initialize -canonical text/plain -string hi]")
        tcl.eval(
            "after 100 {set ::inner [catch {smtp::sendmessage $tok -servers 127.0.0.1"
            f" -ports {srv.port} -header {{To inner@x.y}}}} ::innerres]}}"
        )
        outer = tcl.eval(
            f"catch {{smtp::sendmessage $tok -servers 127.0.0.1 -ports {srv.port}"
            " -header {To outer@x.y}}"
        )
        assert outer == "0"
        # The inner send ran (and finished) inside the outer one's wait.
        assert tcl.eval("info exists ::inner") == "1"
        assert tcl.eval("set ::inner") == "0"
        assert sorted(m.rcpt_tos[0] for m in srv.messages) == ["inner@x.y", "outer@x.y"]


def test_no_busy_polling_while_waiting() -> None:
    with scripted_server(delays={"DOT": 1.5}) as srv:
        tcl = new_interp(timeout_scale=1)
        tcl.eval("set tok [mime::initialize -canonical text/plain -string hi]")
        before = _cpu_seconds()
        tcl.eval(f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {srv.port} -header {{To a@x}}")
        used = _cpu_seconds() - before
        # The server thread (same process) and the send cost a little; polling
        # every few ms for 1.5 s would cost far more.
        assert used < 0.4, used
