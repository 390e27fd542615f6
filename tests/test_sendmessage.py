"""::smtp::sendmessage through the bridge against a real recording server."""

from __future__ import annotations

import email
import email.policy
import socket
import subprocess
import threading
import time
import tkinter

import pytest

from tclbridge import Interp
from tclbridge.recorder import RecordingServer
from tests.support.interps import new_interp
from tests.support.recording import scripted_server
from tests.support.waiting import wait_until_closed


def send(tcl: Interp, srv: RecordingServer, options: str, body: str = "hello") -> tuple[int, str]:
    """Build a text part and send it; return (catch code, result)."""
    tcl.eval(f"set tok [mime::initialize -canonical text/plain -string {{{body}}}]")
    code = tcl.eval(
        f"set rc [catch {{smtp::sendmessage $tok -servers 127.0.0.1 -ports {srv.port}"
        f" {options}}} res]"
    )
    return int(code), tcl.eval("set res")


def headers(srv: RecordingServer, index: int = 0) -> list[tuple[str, str]]:
    msg = email.message_from_bytes(srv.messages[index].content, policy=email.policy.compat32)
    return [(k, str(v)) for k, v in msg.items()]


def verbs(srv: RecordingServer, session: int = 0) -> list[str]:
    wait_until_closed(srv)  # an abort's RSET and QUIT are read after the send returned
    return [c.split()[0].split(":")[0] for c in srv.sessions[session].commands]


def test_simple_send(tcl: Interp, server: RecordingServer) -> None:
    code, result = send(tcl, server, "-header {To a@example.com} -header {From me@example.com}")
    assert (code, result) == (0, "")
    assert verbs(server) == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    assert server.sessions[0].commands[1].startswith("MAIL FROM:<me@example.com> SIZE=")
    assert server.messages[0].rcpt_tos == ["a@example.com"]
    names = [k for k, _ in headers(server)]
    assert names[:2] == ["MIME-Version", "Content-ID"]
    assert names.index("To") < names.index("From") < names.index("Date") < names.index(
        "Message-ID"
    )
    assert server.messages[0].content.endswith(b"\r\n\r\nhello\r\n")


OPTION_ERRORS = [
    ("-debug", "Each option must have a value!  Invalid option list: -servers 127.0.0.1"
     " -ports PORT -header {To a@b.c} -debug"),
    ("-bogus 1", "unknown option -bogus"),
    ("-header {To}", "-header expects a key and a value, not To"),
    ("-header {a b c}", "-header expects a key and a value, not a b c"),
    (
        "-header {content-type text/html}",
        "Content-Type, Content-Transfer-Encoding, Content-MD5, and MIME-Version "
        "cannot be user-specified.",
    ),
    ("-header {MIME-Version 2}", None),
    ("-header {Content-MD5 x}", None),
    ("-header {Content-Transfer-Encoding 8bit}", None),
    ("-atleastone maybe", "unknown boolean value: maybe"),
    ("-usetls 2", "unknown boolean value: 2"),
    ("-username u -password {s3cret pw} -debug", "Each option must have a value!  Invalid option"
     " list: -servers 127.0.0.1 -ports PORT -header {To a@b.c} -username u -password <hidden>"
     " -debug"),  # COMPAT auth-hidden: tcllib quotes the password back
]


@pytest.mark.parametrize(("options", "message"), OPTION_ERRORS)
def test_option_errors_word_for_word(
    tcl: Interp, server: RecordingServer, options: str, message: str | None
) -> None:
    code, result = send(tcl, server, f"-header {{To a@b.c}} {options}")
    assert code == 1
    expected = (message or OPTION_ERRORS[4][1]).replace("PORT", str(server.port))
    assert result == expected
    assert server.sessions == []


@pytest.mark.parametrize("value", ["0", "1", "TRUE", "False", "yes", "NO", "On", "off"])
def test_booleans_any_case(tcl: Interp, server: RecordingServer, value: str) -> None:
    code, _ = send(tcl, server, f"-header {{To a@b.c}} -atleastone {value} -queue {value}")
    assert code == 0


def test_originator_from_header_and_sender(tcl: Interp, server: RecordingServer) -> None:
    code, _ = send(
        tcl, server, "-originator bounce@example.com -header {From {Me <me@example.com>}}"
        " -header {To a@b.c}"
    )
    assert code == 0
    assert server.messages[0].mail_from == "bounce@example.com"
    assert ("Sender", "me@example.com") in headers(server)


def test_originator_is_from_address(tcl: Interp, server: RecordingServer) -> None:
    send(tcl, server, "-header {From {Me <me@example.com>}} -header {To a@b.c}")
    assert server.messages[0].mail_from == "me@example.com"
    assert "Sender" not in dict(headers(server))


def test_null_originator(tcl: Interp, server: RecordingServer) -> None:
    send(tcl, server, "-originator {} -header {To a@b.c}")
    assert server.sessions[0].commands[1].startswith("MAIL FROM:<>")
    assert "From" not in dict(headers(server))


def tcllib_user_address() -> str:
    """What tcllib sends as MAIL FROM when no originator is given."""
    return subprocess.run(
        ["tclsh"], capture_output=True, text=True, check=True,
        input="package require mime\n"
        "puts [dict get [lindex [mime::parseaddress $tcl_platform(user)] 0] address]",
    ).stdout.strip()


def test_originator_defaults_to_user(tcl: Interp, server: RecordingServer) -> None:
    user = tcl.eval("set tcl_platform(user)")
    send(tcl, server, "-header {To a@b.c}")
    assert server.messages[0].mail_from == tcllib_user_address()
    assert ("From", user) in headers(server)


def test_address_errors(tcl: Interp, server: RecordingServer) -> None:
    code, result = send(tcl, server, "-originator {a@b.c, d@e.f} -header {To x@y.z}")
    assert (code, result) == (1, "too many mailboxes in -originator: a@b.c, d@e.f")
    code, result = send(tcl, server, "-header {From a@b.c}")
    assert (code, result) == (1, 'need -header "To ..."')
    code, result = send(tcl, server, "-header {From {a@b.c, d@e.f}} -header {To x@y.z}")
    assert (code, result) == (1, "too many mailboxes in From: a@b.c, d@e.f")
    assert server.sessions == []


def test_recipients_from_to_cc_dcc(tcl: Interp, server: RecordingServer) -> None:
    send(
        tcl, server, "-header {From f@x.y} -header {To a@x.y} -header {To b@x.y}"
        " -header {cc c@x.y} -header {Dcc d@x.y}"
    )
    assert server.messages[0].rcpt_tos == ["a@x.y", "b@x.y", "c@x.y", "d@x.y"]
    names = [k.lower() for k, _ in headers(server)]
    assert names.count("to") == 2 and "cc" in names and "dcc" not in names


def test_recipients_option_overrides_headers(tcl: Interp, server: RecordingServer) -> None:
    send(tcl, server, "-recipients {r@x.y, s@x.y} -header {To a@x.y} -header {From f@x.y}")
    assert server.messages[0].rcpt_tos == ["r@x.y", "s@x.y"]


def test_bcc_gets_digest_transaction(tcl: Interp, server: RecordingServer) -> None:
    code, result = send(
        tcl, server, "-header {From f@x.y} -header {To a@x.y} -header {Bcc b@x.y}"
        " -header {Subject Report}"
    )
    assert (code, result) == (0, "")
    assert [m.rcpt_tos for m in server.messages] == [["a@x.y"], ["b@x.y"]]
    assert len(server.sessions) == 1
    assert "Bcc" not in dict(headers(server, 0))
    digest = email.message_from_bytes(server.messages[1].content)
    assert digest.get_content_type() == "multipart/digest"
    assert digest["Subject"] == "[Bcc] Report"
    assert digest["Bcc"] == ""
    assert digest["Content-Description"] == "Blind Carbon Copy"
    inner = digest.get_payload()[0]
    assert inner.get_content_type() == "message/rfc822"
    assert inner["Content-Description"] == "Original Message"
    assert inner.get_payload()[0]["To"] == "a@x.y"


def test_no_to_adds_empty_bcc(tcl: Interp, server: RecordingServer) -> None:
    send(tcl, server, "-recipients a@x.y -header {From f@x.y}")
    assert ("Bcc", "") in headers(server)


def test_resent_mode(tcl: Interp, server: RecordingServer) -> None:
    tcl.eval("set tok [mime::initialize -canonical text/plain -string body]")
    tcl.eval("mime::setheader $tok From orig@x.y; mime::setheader $tok To old@x.y")
    tcl.eval(
        f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {server.port}"
        " -header {Resent-From fwd@x.y} -header {Resent-To new@x.y}"
    )
    assert server.messages[0].mail_from == "fwd@x.y"
    assert server.messages[0].rcpt_tos == ["new@x.y"]
    names = [k for k, _ in headers(server)]
    assert "Resent-Date" in names and "Resent-Message-ID" in names
    assert "Date" not in names


def test_date_and_message_id_kept_from_token(tcl: Interp, server: RecordingServer) -> None:
    tcl.eval("set tok [mime::initialize -canonical text/plain -string body]")
    tcl.eval("mime::setheader $tok Date {Mon, 1 Jan 2024 00:00:00 +0000}")
    tcl.eval("mime::setheader $tok Message-ID {<fixed@x.y>}")
    tcl.eval(
        f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {server.port} -header {{To a@x.y}}"
    )
    hdrs = headers(server)
    assert [v for k, v in hdrs if k == "Date"] == ["Mon, 1 Jan 2024 00:00:00 +0000"]
    assert [v for k, v in hdrs if k == "Message-ID"] == ["<fixed@x.y>"]


def test_refused_recipient_without_atleastone_resets() -> None:
    with scripted_server(replies={"RCPT:bad@x.y": "550 no such user"}) as srv:
        tcl = new_interp()
        code, result = send(tcl, srv, "-header {From f@x.y} -header {To {good@x.y, bad@x.y}}")
        assert code == 0
        assert tcl.eval("lindex $res 0") == "bad@x.y 550 {no such user}"
        assert verbs(srv) == ["EHLO", "MAIL", "RCPT", "RCPT", "RSET", "QUIT"]
        assert srv.messages == []
        code, result = send(
            tcl, srv, "-atleastone 1 -header {From f@x.y} -header {To {good@x.y, bad@x.y}}"
        )
        assert verbs(srv, 1) == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]
        assert srv.messages[0].rcpt_tos == ["good@x.y"]
        assert result == "{bad@x.y 550 {no such user}}"


@pytest.mark.parametrize("stage", ["MAIL", "DATA", "DOT"])
def test_refusal_returns_code_7(stage: str) -> None:
    with scripted_server(replies={stage: "554 go away"}) as srv:
        tcl = new_interp()
        code, result = send(tcl, srv, "-header {From f@x.y} -header {To a@x.y}")
        assert (code, result) == (7, "diagnostic {go away} args {} code 554")
        # Written without waiting, as tcllib; the server reads them after.
        assert verbs(srv)[-2:] == ["RSET", "QUIT"]


def test_greeting_421_moves_to_next_server() -> None:
    with scripted_server(greeting="421 busy") as bad, scripted_server() as good:
        tcl = new_interp()
        tcl.eval("set tok [mime::initialize -canonical text/plain -string x]")
        tcl.eval(
            "smtp::sendmessage $tok -servers {127.0.0.1 {} 127.0.0.1}"
            f" -ports {{{bad.port} 1 {good.port}}} -header {{To a@x.y}}"
        )
        assert len(bad.sessions) == 1 and len(good.messages) == 1


def test_no_server_reachable_is_an_error() -> None:
    with scripted_server(greeting="421 too busy") as bad:
        tcl = new_interp()
        code, result = send(tcl, bad, "-header {To a@x.y}")
        assert (code, result) == (1, "too busy")
        assert tcl.eval("set errorCode") == "NONE"


def test_ehlo_refused_falls_back_to_helo() -> None:
    with scripted_server(ehlo=["502 no esmtp"]) as srv:
        tcl = new_interp()
        code, _ = send(tcl, srv, "-header {To a@x.y} -client me.example")
        assert code == 0
        assert srv.sessions[0].commands[:3] == [
            "EHLO me.example", "HELO me.example", f"MAIL FROM:<{tcllib_user_address()}>"
        ]


def test_queue_sends_qued_when_xque_advertised() -> None:
    with scripted_server(capabilities=["XQUE"]) as srv:
        tcl = new_interp()
        send(tcl, srv, "-queue 1 -header {To a@x.y}")
        assert verbs(srv)[:2] == ["EHLO", "QUED"]
        send(tcl, srv, "-header {To a@x.y}")
        assert "QUED" not in verbs(srv, 1)


def test_size_only_when_advertised() -> None:
    with scripted_server(ehlo=["250-hi", "250 8BITMIME"]) as srv:
        tcl = new_interp()
        send(tcl, srv, "-header {To a@x.y}")
        assert "SIZE=" not in srv.sessions[0].commands[1]


def test_timeout_gives_code_7(tcl: Interp) -> None:
    with scripted_server(delays={"DOT": 5}) as srv:
        code, result = send(tcl, srv, "-header {To a@x.y} -maxsecs 10")
        assert code == 7
        assert result == "diagnostic {read from server timed out} args {} code 400"


def test_debug_transcript(capfd) -> None:
    with scripted_server(capabilities=["AUTH PLAIN LOGIN"]) as server:
        tcl = new_interp()
        send(tcl, server, "-header {To a@x.y} -debug 1 -username u -password s3cret")
    err = capfd.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "Trying 127.0.0.1..."
    assert lines[1].startswith("<-- 220 ")
    assert "--> MAIL FROM:<" in err and "(wait upto 600 seconds)" in err
    assert "--> RCPT TO:<a@x.y> (wait upto 3600 seconds)" in lines
    assert "--> . (wait upto 120 seconds)" in lines
    assert lines[-2] == "--> QUIT (wait upto 120 seconds)"
    # LOGIN (stronger than PLAIN) was used; its payloads are hidden.
    assert "--> AUTH LOGIN (wait upto 300 seconds)" in lines
    assert lines.count("--> <hidden> (wait upto 300 seconds)") == 2
    assert "s3cret" not in err and "czNjcmV0" not in err  # base64("s3cret")


def test_token_unchanged_and_resendable(tcl: Interp, server: RecordingServer) -> None:
    tcl.eval("set tok [mime::initialize -canonical text/plain -string body]")
    before = tcl.eval("mime::getheader $tok -names")
    for _ in range(2):
        tcl.eval(
            f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {server.port}"
            " -header {To a@x.y} -header {From f@x.y}"
        )
    assert tcl.eval("mime::getheader $tok -names") == before
    first = [k for k, _ in headers(server, 0)]
    assert [k for k, _ in headers(server, 1)] == first
    assert first.count("To") == 1


@pytest.mark.parametrize("value", ["a\r\nBcc: victim@x.y", "a\nX: y", "a\rX: y"])
def test_header_injection_refused(tcl: Interp, server: RecordingServer, value: str) -> None:
    tcl.call("set", "evil", value)
    tcl.eval("set tok [mime::initialize -canonical text/plain -string body]")
    code = tcl.eval(
        f"catch {{smtp::sendmessage $tok -servers 127.0.0.1 -ports {server.port}"
        " -header {To a@x.y} -header [list Subject $evil]} res"
    )
    assert code == "1"
    assert "Subject" in tcl.eval("set res")
    assert server.sessions == []
    assert tcl.eval("catch {mime::setheader $tok Subject $evil}") == "1"


def test_folded_header_allowed(tcl: Interp, server: RecordingServer) -> None:
    code, _ = send(tcl, server, "-header {To a@x.y} -header [list Subject \"a\\r\\n b\"]")
    assert code == 0


def test_smuggling_sequences_stay_in_the_body(tcl: Interp, server: RecordingServer) -> None:
    tcl.call("set", "body", "line1\n.\nMAIL FROM:<evil@x>\r.\rRCPT TO:<v@x>\n.\r\nend\r")
    tcl.eval("set tok [mime::initialize -canonical text/plain -encoding 8bit -string $body]")
    tcl.eval(f"smtp::sendmessage $tok -servers 127.0.0.1 -ports {server.port} -header {{To a@x.y}}")
    assert len(server.messages) == 1
    assert verbs(server) == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    data = server.messages[0].data
    assert b"\r\n..\r\nMAIL FROM:<evil@x>\r\n..\r\nRCPT" in data
    assert data.replace(b"\r\n", b"").count(b"\r") == 0
    assert data.replace(b"\r\n", b"").count(b"\n") == 0


def test_script_never_sees_python_traceback_or_none(tcl: Interp) -> None:
    tcl.register("::tclbridge::py::boom", lambda: 1 / 0)
    tcl.eval("::tclbridge::forward ::boom ::tclbridge::py::boom")
    assert tcl.eval("catch boom msg") == "1"
    msg = tcl.eval("set msg")
    assert "ZeroDivisionError" in msg and "Traceback" not in msg
    assert tcl.eval("lrange $errorCode 0 1") == "TCLBRIDGE INTERNAL"
    tcl.register("::tclbridge::py::nothing", lambda: None)
    tcl.eval("::tclbridge::forward ::nothing ::tclbridge::py::nothing")
    assert tcl.eval("nothing") == ""


def test_unknown_mime_token_is_a_tcl_error(tcl: Interp, server: RecordingServer) -> None:
    with pytest.raises(tkinter.TclError):
        tcl.eval(f"smtp::sendmessage ::mime::999 -servers 127.0.0.1 -ports {server.port}"
                 " -header {To a@x.y}")
    assert "TCLBRIDGE" not in tcl.eval("set errorCode")


def test_refused_bcc_recipient_is_in_the_result() -> None:
    with scripted_server(replies={"RCPT:bad@x.y": "550 no such user"}) as srv:
        tcl = new_interp()
        code, result = send(tcl, srv, "-header {To ok@x.y} -header {Bcc bad@x.y}")
        assert (code, result) == (0, "{bad@x.y 550 {no such user}}")


def test_unresolvable_name_moves_to_next_server(tcl: Interp, server: RecordingServer) -> None:
    tcl.eval("set tok [mime::initialize -canonical text/plain -string x]")
    tcl.eval(
        "smtp::sendmessage $tok -servers {a..b nonexistent.invalid 127.0.0.1}"
        f" -ports {{25 25 {server.port}}} -header {{To a@x.y}}"
    )
    assert len(server.messages) == 1
    code, result = send(tcl, server, "-header {To a@x.y} -servers a..b")
    assert (code, result) == (1, "couldn't open socket: Name or service not known")


def test_ehlo_name_is_tcl_info_hostname(tcl: Interp, server: RecordingServer) -> None:
    send(tcl, server, "-header {To a@x.y}")
    assert server.sessions[0].commands[0] == "EHLO " + tcl.eval("info hostname")


def test_finalized_subpart_fails_without_delivery(tcl: Interp, server: RecordingServer) -> None:
    tcl.eval(
        "set a [mime::initialize -canonical text/plain -string a]\n"
        "set b [mime::initialize -canonical text/plain -string b]\n"
        "set tok [mime::initialize -canonical multipart/mixed -parts [list $a $b]]\n"
        "mime::finalize $b"
    )
    code = tcl.eval(
        f"catch {{smtp::sendmessage $tok -servers 127.0.0.1 -ports {server.port}"
        " -header {To a@x.y}} res"
    )
    assert code == "7"
    assert tcl.eval("set res") == (
        'code 400 diagnostic {can\'t read "state(header)": no such variable}'
    )
    assert server.messages == []
    assert "SIZE=" not in server.sessions[0].commands[1]


@pytest.mark.parametrize(
    "options",
    [
        '-recipients "\\"x\\r\\nRCPT TO:<evil@x.y>\\r\\nNOOP\\"@x.y"',
        '-originator "\\"a\\nRSET\\"@x.y" -header {To a@x.y}',
        '-client "me\\r\\nNOOP" -header {To a@x.y}',
        '-header {To a@x.y} -header {Bcc "\\"b\\rRSET\\"@x.y"}',
    ],
)
def test_smtp_command_injection_refused(
    tcl: Interp, server: RecordingServer, options: str
) -> None:
    code, result = send(tcl, server, options)
    assert code == 1
    assert "injection refused" in result
    assert server.sessions == []


def test_server_that_stops_reading_gives_timeout_not_hang() -> None:
    """A server that takes DATA and then never reads must not hang the
    script: tcllib reports the missing reply to the final dot."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stop = threading.Event()

    def stall() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"220 hi\r\n")
            reader = conn.makefile("rb")
            for reply in (b"250 ok", b"250 ok", b"250 ok", b"354 go"):
                reader.readline()
                conn.sendall(reply + b"\r\n")
            stop.wait(30)  # never read again

    thread = threading.Thread(target=stall, daemon=True)
    thread.start()
    try:
        tcl = new_interp(timeout_scale=1)
        tcl.call("set", "big", "x" * (8 << 20))
        tcl.eval(
            "set tok [mime::initialize -canonical application/octet-stream"
            " -encoding base64 -string $big]"
        )
        started = time.monotonic()
        code = tcl.eval(
            "catch {smtp::sendmessage $tok -servers 127.0.0.1"
            f" -ports {listener.getsockname()[1]} -maxsecs 1 -header {{To a@x.y}}}} res"
        )
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert (code, tcl.eval("set res")) == (
        "7", "diagnostic {read from server timed out} args {} code 400"
    )
    assert elapsed < 10


def test_maxsecs_nan_is_tcls_domain_error(tcl: Interp, server: RecordingServer) -> None:
    # As tcllib: Tcl's expr fails on NaN, before anything is sent.
    code, result = send(tcl, server, "-header {To a@b.c} -maxsecs NaN")
    assert (code, result) == (1, "domain error: argument not in valid range")
    assert tcl.eval("lrange $::errorCode 0 1") == "ARITH DOMAIN"
    assert server.sessions == []
