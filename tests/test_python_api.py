"""tclbridge.smtp.sendmessage against real recording servers: each scenario runs
through the Tcl command and through the Python API, each against its own
recording server, and what the two servers received must be the same."""

from __future__ import annotations

import email
import email.message
import gc
import smtplib
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

from tclbridge import Interp
from tclbridge.config import BridgeConfig
from tclbridge.mime import new_part
from tclbridge.recorder import RecordingServer, ServerScript
from tclbridge.site_policy import SitePolicy
from tclbridge.smtp import (
    RefusedRecipient,
    SMTPConnectError,
    SMTPDataRefusedError,
    SMTPError,
    SMTPRefusedError,
    SMTPSenderRefusedError,
    SMTPUsageError,
    sendmessage,
)
from tests.support import loopback
from tests.support.mail_record import received

SCALE = 0.05
T = TypeVar("T")
BODY = "hello\nsecond line\n"


def bridge(**config: Any) -> Interp:
    tcl = Interp(BridgeConfig(timeout_scale=SCALE, **config))
    tcl.eval("package require smtp")
    return tcl


def with_tcl(run: Callable[[Interp], T], **config: Any) -> T:
    """`run(tcl)` in a new bridge interpreter, which is freed here, in this
    thread: a Tcl interpreter left to the cyclic garbage collector may be
    freed in a server thread, and Tcl hangs there."""
    tcl = bridge(**config)
    try:
        return run(tcl)
    finally:
        tcl.close()
        del tcl
        gc.collect()


def tcl_send(tcl: Interp, build: str, options: str) -> tuple[int, str, str]:
    """Build a token with `build`, send it; (catch code, result, errorCode)."""
    tcl.eval(f"set tok [{build}]")
    code = int(tcl.eval(f"catch {{smtp::sendmessage $tok {options}}} res opts"))
    errorcode = tcl.eval("dict get [dict merge {-errorcode {}} $opts] -errorcode")
    return code, tcl.eval("set res"), errorcode


@pytest.fixture
def unlistened_port() -> Iterator[int]:
    with loopback.unlistened_port() as port:
        yield port


@dataclass
class Scenario:
    name: str
    tcl: str  # sendmessage options; PORT and DEAD are filled in
    python: Callable[[int, int], dict[str, Any]]  # (port, dead) -> keyword arguments
    script: dict[str, Any] = field(default_factory=dict)


def addressed(port: int, *more: tuple[str, str], servers: tuple = ("127.0.0.1",),
              ports: tuple | None = None, **kwargs: Any) -> dict[str, Any]:
    return {"servers": list(servers), "ports": list(ports or (port,)),
            "headers": [("From", "me@x.y"), *more], **kwargs}


REFUSE_B = {"replies": {"RCPT:b@x.y": "550 5.1.1 no such user"}}
SCENARIOS = [
    Scenario(
        "simple",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y} -header {To a@x.y}"
        " -header {Subject Hi}",
        lambda port, _: addressed(port, ("To", "a@x.y"), ("Subject", "Hi")),
    ),
    Scenario(
        "to-cc-bcc",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y} -header {To a@x.y}"
        " -header {cc c@x.y} -header {Bcc b@x.y} -header {Subject Report}",
        lambda port, _: addressed(port, ("To", "a@x.y"), ("cc", "c@x.y"), ("Bcc", "b@x.y"),
                                  ("Subject", "Report")),
    ),
    Scenario(
        "refused-recipient",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y} -header {To a@x.y}"
        " -header {cc b@x.y}",
        lambda port, _: addressed(port, ("To", "a@x.y"), ("cc", "b@x.y")),
        REFUSE_B,
    ),
    Scenario(
        "refused-recipient-atleastone",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y} -header {To a@x.y}"
        " -header {cc b@x.y} -atleastone 1",
        lambda port, _: addressed(port, ("To", "a@x.y"), ("cc", "b@x.y"), atleastone=True),
        REFUSE_B,
    ),
    Scenario(
        "recipients-option-and-originator",
        "-servers 127.0.0.1 -ports PORT -originator bounce@x.y -recipients {r@x.y, s@x.y}"
        " -header {From {Me <me@x.y>}} -header {To a@x.y}",
        lambda port, _: {"servers": "127.0.0.1", "ports": port, "originator": "bounce@x.y",
                         "recipients": ["r@x.y", "s@x.y"],
                         "headers": [("From", "Me <me@x.y>"), ("To", "a@x.y")]},
    ),
    Scenario(
        "mail-refused",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y} -header {To a@x.y}",
        lambda port, _: addressed(port, ("To", "a@x.y")),
        {"replies": {"MAIL": "553 5.7.1 sender rejected"}},
    ),
    Scenario(
        "data-refused",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y} -header {To a@x.y}",
        lambda port, _: addressed(port, ("To", "a@x.y")),
        {"replies": {"DATA": "554 5.3.4 no thanks"}},
    ),
    Scenario(
        "failover",
        "-servers {127.0.0.1 127.0.0.1} -ports {DEAD PORT} -header {From me@x.y}"
        " -header {To a@x.y}",
        lambda port, dead: addressed(port, ("To", "a@x.y"), servers=("127.0.0.1", "127.0.0.1"),
                                     ports=(dead, port)),
    ),
    Scenario(
        "greeting-refused",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y} -header {To a@x.y}",
        lambda port, _: addressed(port, ("To", "a@x.y")),
        {"greeting": "421 4.3.2 busy, try later"},
    ),
    Scenario(
        "no-server",
        "-servers 127.0.0.1 -ports DEAD -header {From me@x.y} -header {To a@x.y}",
        lambda _, dead: addressed(dead, ("To", "a@x.y")),
    ),
    Scenario(
        "auth",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y} -header {To a@x.y}"
        " -username alice -password {s3cret pw}",
        lambda port, _: addressed(port, ("To", "a@x.y"), username="alice",
                                  password="s3cret pw"),
        {"capabilities": ["AUTH PLAIN LOGIN"], "credentials": {"alice": "s3cret pw"},
         "auth_required": True},
    ),
    Scenario(
        "usage-error",
        "-servers 127.0.0.1 -ports PORT -header {From me@x.y}",
        lambda port, _: addressed(port),
    ),
]


def python_outcome(**kwargs: Any) -> tuple[str, object]:
    """("ok", refused list) or (exception class name, exception)."""
    part = new_part(canonical="text/plain", string=BODY)
    try:
        return "ok", sendmessage(part, config=BridgeConfig(timeout_scale=SCALE), **kwargs)
    except SMTPError as exc:
        return type(exc).__name__, exc


def tcl_outcome(tcl: Interp, build: str, options: str) -> tuple[int, object, str]:
    """tcl_send, with the result split: refused items for code 0, the reply
    fields for code 7, the message for code 1."""
    code, result, errorcode = tcl_send(tcl, build, options)
    split = tcl.tk.tk.splitlist
    if code == 0:
        return code, [tuple(split(item)) for item in split(result)], errorcode
    if code == 7:
        return code, dict(zip(*[iter(split(result))] * 2, strict=True)), errorcode
    return code, result, errorcode


def assert_same_outcome(tcl_result: tuple[int, object, str],
                        py_outcome: tuple[str, object]) -> None:
    """The Python result or exception is the mapping of tcllib's outcome."""
    code, result, errorcode = tcl_result
    kind, value = py_outcome
    if code == 0:
        assert isinstance(result, list)
        assert (kind, value) == ("ok", [RefusedRecipient(a, int(c), t) for a, c, t in result])
        return
    assert isinstance(value, SMTPError)
    if code == 7:
        # tcllib's return code 7: an SMTPRefusedError, of the class that says where.
        assert isinstance(result, dict) and kind in ("SMTPSenderRefusedError",
                                                     "SMTPDataRefusedError")
        assert isinstance(value, SMTPRefusedError)
        assert (value.code, value.diagnostic) == (int(result["code"]), result["diagnostic"])
        return
    assert code == 1
    assert kind in ("SMTPConnectError", "SMTPUsageError")
    assert str(value.diagnostic) == result and errorcode == "NONE"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_same_scenario_through_tcl_and_python(scenario: Scenario, unlistened_port: int) -> None:
    dead = unlistened_port
    build = f"mime::initialize -canonical text/plain -string {{{BODY}}}"
    with RecordingServer(ServerScript(**scenario.script)) as tcl_srv:
        options = scenario.tcl.replace("PORT", str(tcl_srv.port)).replace("DEAD", str(dead))
        tcl_result = with_tcl(lambda tcl: tcl_outcome(tcl, build, options))
        tcl_got = received(tcl_srv)  # while it runs: an abort's RSET/QUIT come late
    with RecordingServer(ServerScript(**scenario.script)) as py_srv:
        py_outcome = python_outcome(**scenario.python(py_srv.port, dead))
        py_got = received(py_srv)
    assert py_got == tcl_got
    assert_same_outcome(tcl_result, py_outcome)


def test_scenarios_exercise_what_they_say(unlistened_port: int) -> None:
    """Guards the comparison above against vacuous agreement (both sides
    failing the same way): each scenario's Python run does what it is named for."""
    dead = unlistened_port
    results = {}
    for scenario in SCENARIOS:
        with RecordingServer(ServerScript(**scenario.script)) as srv:
            results[scenario.name] = (python_outcome(**scenario.python(srv.port, dead)),
                                      received(srv))
    assert results["simple"][0] == ("ok", []) and len(results["simple"][1].messages) == 1
    bcc = results["to-cc-bcc"][1]
    assert bcc.envelopes == [("me@x.y", ["a@x.y", "c@x.y"]), ("me@x.y", ["b@x.y"])]
    refused = [RefusedRecipient("b@x.y", 550, "5.1.1 no such user")]
    assert results["refused-recipient"][0] == ("ok", refused)
    assert results["refused-recipient"][1].messages == []
    assert "RSET" in results["refused-recipient"][1].sessions[0]
    assert results["refused-recipient-atleastone"][0] == ("ok", refused)
    atleastone = results["refused-recipient-atleastone"][1]
    assert "RCPT TO:<b@x.y>" in atleastone.sessions[0] and len(atleastone.messages) == 1
    assert results["recipients-option-and-originator"][1].envelopes == [
        ("bounce@x.y", ["r@x.y", "s@x.y"])
    ]
    kind, exc = results["mail-refused"][0]
    assert kind == "SMTPSenderRefusedError" and isinstance(exc, SMTPRefusedError)
    assert isinstance(exc, SMTPSenderRefusedError) and isinstance(exc, smtplib.SMTPSenderRefused)
    assert (exc.smtp_code, exc.smtp_error, exc.sender) == (553, b"5.7.1 sender rejected", "me@x.y")
    assert (exc.code, exc.diagnostic) == (553, "5.7.1 sender rejected")
    assert exc.tcl_result == ["diagnostic", "5.7.1 sender rejected", "args", [], "code", "553"]
    kind, exc = results["data-refused"][0]
    assert kind == "SMTPDataRefusedError" and isinstance(exc, SMTPError) and exc.code == 554
    assert isinstance(exc, SMTPDataRefusedError) and isinstance(exc, smtplib.SMTPDataError)
    assert exc.smtp_code == 554
    assert results["failover"][0] == ("ok", []) and len(results["failover"][1].messages) == 1
    kind, exc = results["greeting-refused"][0]
    assert kind == "SMTPConnectError" and isinstance(exc, SMTPError)
    assert exc.diagnostic == "4.3.2 busy, try later" and exc.code is None
    kind, exc = results["no-server"][0]
    assert kind == "SMTPConnectError" and "refused" in str(exc)
    auth = results["auth"][1]
    assert auth.sessions[0][1] == "AUTH LOGIN" and len(auth.messages) == 1  # 530 without AUTH
    kind, exc = results["usage-error"][0]
    assert kind == "SMTPUsageError" and isinstance(exc, ValueError)
    assert str(exc) == 'need -header "To ..."'


@pytest.fixture(scope="module")
def tls_server_context() -> Iterator[tuple[ssl.SSLContext, trustme.CA]]:
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    yield context, ca


def test_starttls_and_tlspolicy_same_through_tcl_and_python(
    tmp_path: Path, tls_server_context: tuple[ssl.SSLContext, trustme.CA]
) -> None:
    context, ca = tls_server_context
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    script = ServerScript(capabilities=["STARTTLS"])
    base = "-servers localhost -ports PORT -header {From me@x.y} -header {To a@x.y}"
    records = {}
    for label, config in (("trusted", {"cafiles": [str(cafile)]}), ("untrusted", {})):
        policy_calls: list[tuple[int, str]] = []

        def policy(code: int, diagnostic: str, calls: list = policy_calls) -> str:
            calls.append((code, diagnostic))
            return "insecure"

        def run_tcl(tcl: Interp) -> tuple[tuple[int, str, str], list[tuple[str, ...]]]:
            tcl.eval("set ::calls {}; proc policy {args} {lappend ::calls $args; return insecure}")
            outcome = tcl_send(tcl, "mime::initialize -canonical text/plain -string hi",
                               base.replace("PORT", str(tcl_srv.port)) + " -tlspolicy policy")
            split = tcl.tk.tk.splitlist
            return outcome, [tuple(split(c)) for c in split(tcl.eval("set ::calls"))]

        with RecordingServer(script, tls_context=context) as tcl_srv:
            tcl_outcome, tcl_calls = with_tcl(run_tcl, **config)
        with RecordingServer(script, tls_context=context) as py_srv:
            refused = sendmessage(
                new_part(canonical="text/plain", string="hi"), servers=["localhost"],
                ports=[py_srv.port], headers=[("From", "me@x.y"), ("To", "a@x.y")],
                tlspolicy=policy, config=BridgeConfig(timeout_scale=SCALE, **config),
            )
        assert tcl_outcome[:2] == (0, "") and refused == []
        assert received(py_srv) == received(tcl_srv)
        assert [(str(c), d) for c, d in policy_calls] == tcl_calls
        records[label] = (received(py_srv), policy_calls)
    trusted, untrusted = records["trusted"], records["untrusted"]
    assert trusted[0].sessions[0][:3] == ["EHLO localhost", "STARTTLS", "EHLO localhost"]
    assert trusted[1] == []  # verified: the policy was not asked
    assert len(untrusted[1]) == 1 and untrusted[1][0][0] == 554
    assert untrusted[1][0][1].startswith("certificate verify failed: ")
    assert len(untrusted[0].messages) == 1  # "insecure": sent without verification


def test_untrusted_certificate_without_policy_is_a_connect_error(
    tls_server_context: tuple[ssl.SSLContext, trustme.CA]
) -> None:
    context, _ = tls_server_context
    with RecordingServer(ServerScript(capabilities=["STARTTLS"]), tls_context=context) as srv:
        with pytest.raises(SMTPConnectError) as caught:
            sendmessage(new_part(canonical="text/plain", string="hi"), servers="localhost",
                        ports=srv.port, headers=[("To", "a@x.y")],
                        config=BridgeConfig(timeout_scale=SCALE))
    assert "TLS certificate of localhost could not be verified" in caught.value.diagnostic
    assert srv.messages == []


# -- email.message input -------------------------------------------------------

TCL_REPORT = (
    "mime::initialize -canonical multipart/mixed -parts [list "
    "[mime::initialize -canonical text/plain -param {charset utf-8} -encoding 7bit"
    " -string {Two hosts up.\n}] "
    "[mime::initialize -canonical text/csv -param {charset utf-8} -encoding base64"
    " -header {Content-Disposition {attachment; filename=\"hosts.csv\"}}"
    " -string {host,up\nweb,1\n}]]"
)


def report_message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Reports <reports@x.y>"
    msg["To"] = "ops@x.y"
    msg["Subject"] = "Hosts"
    msg.set_content("Two hosts up.\n")
    msg.add_attachment(b"host,up\nweb,1\n", maintype="text", subtype="csv",
                       params={"charset": "utf-8"}, filename="hosts.csv")
    return msg


def test_email_message_sends_what_the_same_mime_tree_sends() -> None:
    with RecordingServer() as tcl_srv:
        options = (f"-servers 127.0.0.1 -ports {tcl_srv.port}"
                   " -header {From {Reports <reports@x.y>}} -header {To ops@x.y}"
                   " -header {Subject Hosts}")
        code, _, _ = with_tcl(lambda tcl: tcl_send(tcl, TCL_REPORT, options))
    with RecordingServer() as py_srv:
        assert sendmessage(report_message(), servers="127.0.0.1", ports=py_srv.port) == []
    assert code == 0
    assert received(py_srv) == received(tcl_srv)
    content = py_srv.messages[0].content
    assert b'filename="hosts.csv"' in content and b"aG9zdCx1cAp3ZWIsMQo=" in content


def test_attached_message_sends_what_the_same_mime_tree_sends() -> None:
    build = (
        "mime::initialize -canonical multipart/mixed -parts [list "
        "[mime::initialize -canonical text/plain -param {charset utf-8} -encoding 7bit"
        " -string {see attached\n}] "
        "[mime::initialize -canonical message/rfc822 -header {Content-Disposition attachment}"
        " -parts [list [mime::initialize -canonical text/plain -param {charset utf-8}"
        " -encoding 7bit -header {Subject inner} -header {From x@x.y}"
        " -string {inner body\n}]]]]"
    )
    with RecordingServer() as tcl_srv:
        options = f"-servers 127.0.0.1 -ports {tcl_srv.port} -header {{To a@x.y}}"
        code, _, _ = with_tcl(lambda tcl: tcl_send(tcl, build, options))
    inner = EmailMessage()
    inner["Subject"], inner["From"] = "inner", "x@x.y"
    inner.set_content("inner body\n")
    msg = EmailMessage()
    msg["To"] = "a@x.y"
    msg.set_content("see attached\n")
    msg.add_attachment(inner)
    with RecordingServer() as py_srv:
        sendmessage(msg, servers="127.0.0.1", ports=py_srv.port)
    assert code == 0
    assert received(py_srv) == received(tcl_srv)
    assert b"Content-Type: message/rfc822\r\n\r\nMIME-Version: 1.0\r\nSubject: inner\r\n" in (
        py_srv.messages[0].content
    )


def test_bytes_and_non_ascii_headers() -> None:
    raw = (b"From: a@x.y\r\nTo: b@x.y\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
           b"\r\nhello\r\n")
    with RecordingServer() as tcl_srv:
        options = (f"-servers 127.0.0.1 -ports {tcl_srv.port} -header {{From a@x.y}}"
                   " -header {To b@x.y} -header {Subject =?utf-8?q?Gr=C3=BC=C3=9Fe?=}")
        code, _, _ = with_tcl(lambda tcl: tcl_send(
            tcl, "mime::initialize -canonical text/plain -string hello\\n", options))
    with RecordingServer() as py_srv:
        sendmessage(raw, servers="127.0.0.1", ports=py_srv.port)
    assert code == 0
    assert received(py_srv) == received(tcl_srv)
    # An EmailMessage with the Subject as text gets the same encoded word.
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@x.y", "b@x.y", "Grüße"
    msg.set_payload("hello\n")
    with RecordingServer() as email_srv:
        sendmessage(msg, servers="127.0.0.1", ports=email_srv.port)
    assert received(email_srv) == received(tcl_srv)


def test_address_headers_are_taken_decoded_as_a_script_passes_them() -> None:
    # tcllib derives the envelope from the -header text; an encoded word in
    # it would become part of the RCPT TO address. (A non-ASCII local part
    # goes only to a server that offers SMTPUTF8: COMPAT utf8-commands.)
    utf8 = ServerScript(capabilities=["SMTPUTF8"])
    with RecordingServer(utf8) as tcl_srv:
        options = (f"-servers 127.0.0.1 -ports {tcl_srv.port} -header {{From a@x.y}}"
                   " -header {To {\u00dcn\u00efcode <\u00fc@x.com>}} -header {Subject Hi}")
        code, _, _ = with_tcl(lambda tcl: tcl_send(
            tcl, "mime::initialize -canonical text/plain -string hello\\n", options))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@x.y", "\u00dcn\u00efcode <\u00fc@x.com>", "Hi"
    msg.set_payload("hello\n")
    # The same message parsed from bytes with encoded words (compat32 and
    # EmailMessage alike), folded over two lines.
    raw = (b"From: a@x.y\r\nTo: =?utf-8?q?=C3=9Cn=C3=AFcode?=\r\n <=?utf-8?q?=C3=BC?=@x.com>\r\n"
           b"Subject: Hi\r\n\r\nhello\r\n")
    parsed = [email.message_from_bytes(raw), email.message_from_bytes(raw, policy=default)]
    assert code == 0
    # The address itself, not its RFC 2047 form (tcllib writes it byte-wise).
    [[rcpt]] = [m.rcpt_tos for m in tcl_srv.messages]
    assert rcpt.endswith("@x.com") and "=?" not in rcpt
    for message in (msg, *parsed):
        with RecordingServer(utf8) as py_srv:
            assert sendmessage(message, servers="127.0.0.1", ports=py_srv.port) == []
        assert received(py_srv) == received(tcl_srv)


def test_line_breaks_in_compat32_headers_are_usage_errors() -> None:
    # compat32 keeps a value with a line break as given; email's own
    # HeaderParseError would slip past `except SMTPError`.
    for name, value in (("Subject", "hi\nBcc: evil@evil.com"), ("To", "a@x.y\r\nBcc: e@e.com"),
                        ("X-Note", "a\rb")):
        msg = email.message.Message()
        msg["To"] = "a@x.y"
        msg[name] = value
        msg.set_payload("x\n")
        with RecordingServer() as srv:
            with pytest.raises(SMTPUsageError, match=f"^header {name} contains a line break"):
                sendmessage(msg, servers="127.0.0.1", ports=srv.port)
        assert srv.sessions == []


def test_usage_errors_carry_tcllib_texts() -> None:
    part = new_part(canonical="text/plain", string="x")
    with pytest.raises(SMTPUsageError, match="^Content-Type, Content-Transfer-Encoding"):
        sendmessage(part, headers=[("To", "a@x.y"), ("Content-Type", "text/html")])
    with pytest.raises(SMTPUsageError, match="too many mailboxes in -originator"):
        sendmessage(part, originator="a@x.y, b@x.y", headers=[("To", "c@x.y")])
    with pytest.raises(SMTPUsageError, match="header injection refused"):
        sendmessage(part, headers=[("To", "a@x.y"), ("Subject", "x\nBcc: evil@x.y")])
    # The caller's part is not changed by a send (tcllib's typo is not copied).
    assert part.header_names() == ["Content-ID"]


def test_debug_lines_go_to_a_callable_without_the_password() -> None:
    lines: list[str] = []
    script = ServerScript(capabilities=["AUTH PLAIN"], credentials={"alice": "s3cret"})
    part = new_part(canonical="text/plain", string="x")
    with RecordingServer(script) as srv:
        sendmessage(part, servers="127.0.0.1", ports=srv.port, headers=[("To", "a@x.y")],
                    username="alice", password="s3cret", debug=lines.append)
    assert part.header_names() == ["Content-ID"]  # the caller's part is left as it was
    assert "--> RCPT TO:<a@x.y> (wait upto 3600 seconds)" in lines
    assert any(line.startswith("--> AUTH PLAIN") for line in lines)
    assert not any("s3cret" in line or "AGFsaWNl" in line for line in lines)


def test_bridge_settings_apply_to_both_sides() -> None:
    """The Tcl command and the API build their session settings with one
    function, so the bridge's settings (here a server override and a site
    policy) act on both alike."""
    def config(port: int) -> dict[str, Any]:
        return {"server_override": ("127.0.0.1", port),
                "policy": SitePolicy(deny_domains=("blocked.example",))}

    options = "-servers mail.invalid -header {From me@x.y} -header {To {a@x.y, z@blocked.example}}"
    with RecordingServer() as tcl_srv:
        code, result, _ = with_tcl(
            lambda tcl: tcl_outcome(tcl, "mime::initialize -canonical text/plain -string hi",
                                    options + " -atleastone 1"),
            **config(tcl_srv.port),
        )
    with RecordingServer() as py_srv:
        refused = sendmessage(new_part(canonical="text/plain", string="hi"),
                              servers="mail.invalid", atleastone=True,
                              config=BridgeConfig(timeout_scale=SCALE, **config(py_srv.port)),
                              headers=[("From", "me@x.y"), ("To", "a@x.y, z@blocked.example")])
    assert code == 0 and [tuple(r) for r in refused] == [
        (a, int(c), t) for a, c, t in result  # type: ignore[union-attr]
    ]
    assert [r.address for r in refused] == ["z@blocked.example"]
    assert received(py_srv) == received(tcl_srv)
    assert received(py_srv).envelopes == [("me@x.y", ["a@x.y"])]


def test_works_without_tkinter() -> None:
    """The API needs no Tcl: it runs with tkinter made unimportable."""
    with RecordingServer() as srv:
        code = (
            "import sys; sys.modules['tkinter'] = None\n"
            "from email.message import EmailMessage\n"
            "from tclbridge.smtp import sendmessage\n"
            "m = EmailMessage(); m['To'] = 'a@x.y'; m.set_content('hi')\n"
            f"print(sendmessage(m, servers='127.0.0.1', ports={srv.port}))\n"
            "print('tkinter' in sys.modules and sys.modules['tkinter'] is not None)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=60, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "False"]
    assert len(srv.messages) == 1


@pytest.mark.parametrize(("arguments", "named"), [
    ({"recipients": [1, 2]}, "recipients"), ({"servers": None}, "servers"),
    ({"ports": [25, None]}, "ports"), ({"ports": True}, "ports"), ({"maxsecs": "x"}, "maxsecs"),
    ({"headers": [("Subject",)]}, "headers"), ({"tlspolicy": 5}, "tlspolicy"),
    ({"username": None}, "username"), ({"atleastone": "yes"}, "atleastone"),
    ({"message": 5}, "message"), ({"message": None}, "message"),
    ({"headers": None}, "headers"), ({"config": "x"}, "config"),
    ({"maxsecs": float("nan")}, "maxsecs"),
])
def test_wrong_argument_types_are_usage_errors(arguments: dict, named: str) -> None:
    message = arguments.pop("message", "To: a@example.com\n\nhi\n")
    with pytest.raises(SMTPUsageError, match=f"^{named} must be "):
        sendmessage(message, servers=arguments.pop("servers", "127.0.0.1"), **arguments)


def test_unknown_encoding_is_a_usage_error() -> None:
    with pytest.raises(SMTPUsageError, match="^unknown encoding 'nope'"):
        sendmessage("To: a@example.com\n\nhi\n", servers="127.0.0.1", encoding="nope")


@pytest.mark.parametrize("levels", [1500, 10000])
@pytest.mark.parametrize("form", ["bytes", "str"])
def test_a_message_nested_too_deeply_is_a_usage_error(levels: int, form: str) -> None:
    """The standard library's parser and the conversion to a bridge part
    recurse once per MIME level: RecursionError before (from about 700 levels
    on 3.10 and 3.11, 1,000 on 3.12 and 3.13)."""
    deep = b"Subject: deep\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(levels)) + b"Content-Type: text/plain\r\n\r\nleaf\r\n" + b"".join(
        b"\r\n--b%d--\r\n" % i for i in reversed(range(levels)))
    message = deep if form == "bytes" else deep.decode("ascii")
    with RecordingServer() as srv:
        with pytest.raises(SMTPUsageError, match="nested too deeply for the engine to send"):
            sendmessage(message, servers=["127.0.0.1"], ports=[srv.port],
                        originator="a@example.com", recipients=["b@example.com"],
                        config=BridgeConfig(timeout_scale=SCALE))
        assert srv.sessions == []
