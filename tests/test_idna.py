"""Domain names are judged and sent in one normalised form (UTS #46, IDNA
2008), and non-ASCII addresses reach a server only over SMTPUTF8 (RFC 6531).

Against a real recording server: the site policy's deny list cannot be
bypassed with ideographic or full-width dots or an invisible trailing
character; a name that cannot be normalised is refused; a non-ASCII local
part is refused locally (nothing on the wire) unless the server offers
SMTPUTF8; an internationalized domain goes as its A-labels."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tclbridge import domains, site_policy
from tclbridge.mime import new_part
from tclbridge.recorder import RecordingServer, ServerScript
from tclbridge.smtp import RefusedRecipient, SMTPRefusedError, sendmessage
from tests.support.postfix_harness import PostfixRelay
from tests.support.sending import bridge, send

REPO = Path(__file__).resolve().parent.parent
DENY = site_policy.parse({"recipients": {"deny_domains": ["rivals.example"]}})
NEEDS_SMTPUTF8 = "5.6.7 non-ASCII address needs SMTPUTF8, which the server does not offer"
# Far above linear time for the huge inputs below (well under a second each),
# far below quadratic time (a minute and more for the 1 MB domain).
TIME_BOUND = 10.0


def utf8_server() -> RecordingServer:
    return RecordingServer(ServerScript(capabilities=["SMTPUTF8"]))


def commands(server: RecordingServer) -> list[str]:
    return [c for s in server.sessions for c in s.commands]


# -- the deny list ---------------------------------------------------------------

BYPASSES = {
    "ideographic-full-stop": "spy@rivals\u3002example",
    "fullwidth-full-stop": "spy@rivals\uff0eexample",
    "halfwidth-ideographic-full-stop": "spy@sub\uff61rivals.example",
    "trailing-zero-width-space": "spy@rivals.example\u200b",
    "upper-case-full-width": "spy@RIVALS\uff0eEXAMPLE",
}


@pytest.mark.parametrize("address", BYPASSES.values(), ids=BYPASSES.keys())
def test_deny_list_holds_for_every_spelling_of_the_name(address: str) -> None:
    with RecordingServer() as server:
        code, result = send(bridge(DENY), server.port, ["ok@ok.example", address])
        assert code == 0
        assert len(result) == 1
        refused, refusal_code, diagnostic = result[0]
        assert (refused, refusal_code) == (address, "550")
        assert "recipient refused by site policy (domain " in diagnostic
        assert "rivals.example) is in deny_domains" in diagnostic
        # Only the allowed recipient was ever named to the server.
        assert [m.rcpt_tos for m in server.messages] == [["ok@ok.example"]]
        assert not any("rivals" in c.lower() for c in commands(server))


def test_allow_list_matches_the_normalised_name_and_sends_it() -> None:
    site = site_policy.parse({"recipients": {"allow_domains": ["ok.example"]}})
    with RecordingServer() as server:
        code, result = send(bridge(site), server.port, ["a@OK\uff0eexample"])
        assert (code, result) == (0, [])
        # What goes on the wire is the name the policy judged.
        assert "RCPT TO:<a@ok.example>" in commands(server)


def test_list_entries_are_normalised_when_the_file_is_read() -> None:
    entries = ["Rivals\u3002Example", "b\u00fccher.example"]
    site = site_policy.parse({"recipients": {"deny_domains": entries}})
    assert site.deny_domains == ("rivals.example", "xn--bcher-kva.example")
    assert site.recipient_refusal("x@rivals.example") == "domain rivals.example is in deny_domains"
    assert site.recipient_refusal("x@B\u00dcCHER.example") == (
        "domain B\u00dcCHER.example (that is xn--bcher-kva.example) is in deny_domains")
    assert site.recipient_refusal("x@mail.xn--bcher-kva.example") is not None
    with pytest.raises(site_policy.PolicyError,
                       match=r"'a\.\.b' is not a domain name \(Empty Label\)"):
        site_policy.parse({"recipients": {"deny_domains": ["a..b"]}})


UNNORMALISABLE = {
    "empty-label": ("x@ok\u3002\u3002example", "cannot be normalised (IDNA: Empty Label)"),
    "bad-a-label": ("x@xn--zz.example", "cannot be normalised (IDNA: "),
    "disallowed-character": ("x@ok\u2488example", "cannot be normalised (IDNA: "),
    "address-literal": ("x@[192.0.2.1]",
                        "address literal [192.0.2.1] cannot be matched against the domain lists"),
    "fullwidth-percent-hack": ("x\uff05rivals.example@ok.example",
                               "routing in the local part x\uff05rivals.example is refused"),
}


@pytest.mark.parametrize("address, reason", UNNORMALISABLE.values(), ids=UNNORMALISABLE.keys())
def test_a_name_that_cannot_be_normalised_is_refused(address: str, reason: str) -> None:
    with utf8_server() as server:
        code, result = send(bridge(DENY), server.port, ["ok@ok.example", address])
        assert code == 0
        assert [(r[0], r[1]) for r in result] == [(address, "550")]
        assert reason in result[0][2]
        assert [m.rcpt_tos for m in server.messages] == [["ok@ok.example"]]
        assert sum(c.startswith("RCPT") for c in commands(server)) == 1


def test_policy_credentials_only_for_the_host_really_connected() -> None:
    site = site_policy.parse({"credentials": {
        "smtp.example.com": {"username": "u1", "password": "p1"},
        "stra\u00dfe.example": {"username": "u2", "password": "p2"},
    }})
    enforcer = site_policy.Enforcer(site, None)
    # A socket connects "smtp\u3002example.com" to smtp.example.com: same host.
    assert enforcer.credentials("smtp\u3002example.com", "", "").username == "u1"
    # Python's socket encodes with IDNA 2003, which takes "stra\u00dfe" to
    # strasse.example, not xn--strae-oqa.example (IDNA 2008): no password.
    assert site.credentials.keys() == {"smtp.example.com", "xn--strae-oqa.example"}
    assert enforcer.credentials("stra\u00dfe.example", "", "").username == ""
    assert enforcer.credentials("xn--strae-oqa.example", "", "").username == "u2"


# -- SMTPUTF8 ----------------------------------------------------------------------

UTF8_RECIPIENTS = ["j\u00fcrgen@example.com", "\u7528\u6237@example.com"]
GREEK = "\u03b1\u03b2@example.com"


def test_non_ascii_recipient_refused_locally_without_smtputf8() -> None:
    with RecordingServer() as server:
        code, result = send(bridge(), server.port, ["ok@example.com", *UTF8_RECIPIENTS])
        assert code == 0
        assert result == [(a, "553", NEEDS_SMTPUTF8) for a in UTF8_RECIPIENTS]
        sent = commands(server)
        assert [c for c in sent if c.startswith(("MAIL", "RCPT"))] == [
            "MAIL FROM:<me@example.com> SIZE=" + sent[1].rpartition("=")[2],
            "RCPT TO:<ok@example.com>",
        ]
        assert [m.rcpt_tos for m in server.messages] == [["ok@example.com"]]
        # Like a refusal by the server: without -atleastone nobody gets it.
        code, result = send(bridge(), server.port, ["ok@example.com", UTF8_RECIPIENTS[0]],
                            atleastone=False)
        assert (code, len(result), len(server.messages)) == (0, 1, 1)
        assert server.sessions[-1].commands[-2:] == ["RSET", "QUIT"]


def test_python_api_reports_local_refusals_alike() -> None:
    message = new_part(canonical="text/plain", string="hello\n")
    with RecordingServer() as server:
        refused = sendmessage(message, servers="127.0.0.1", ports=server.port, atleastone=True,
                              originator="me@example.com",
                              recipients=["ok@example.com", UTF8_RECIPIENTS[0]])
        assert refused == [RefusedRecipient(UTF8_RECIPIENTS[0], 553, NEEDS_SMTPUTF8)]
        with pytest.raises(SMTPRefusedError) as caught:
            sendmessage(message, servers="127.0.0.1", ports=server.port, originator=GREEK,
                        recipients=["ok@example.com"])
        assert (caught.value.code, caught.value.diagnostic) == (553, NEEDS_SMTPUTF8)
        assert [m.rcpt_tos for m in server.messages] == [["ok@example.com"]]


def test_local_refusals_are_in_the_debug_transcript(capfd: pytest.CaptureFixture[str]) -> None:
    with RecordingServer() as server:
        send(bridge(), server.port, ["ok@example.com", UTF8_RECIPIENTS[1]], extra="-debug 1")
        send(bridge(), server.port, ["ok@example.com"], sender=GREEK, extra="-debug 1")
    err = capfd.readouterr().err
    assert f"    ... RCPT TO:<{UTF8_RECIPIENTS[1]}> not sent: {NEEDS_SMTPUTF8} ...\n" in err
    assert f"    ... MAIL FROM:<{GREEK}> not sent: {NEEDS_SMTPUTF8} ...\n" in err


def test_non_ascii_recipients_delivered_with_smtputf8() -> None:
    with utf8_server() as server:
        code, result = send(bridge(), server.port, ["ok@example.com", *UTF8_RECIPIENTS])
        assert (code, result) == (0, [])
        [message] = server.messages
        assert message.rcpt_tos == ["ok@example.com", *UTF8_RECIPIENTS]
        assert "SMTPUTF8" in message.mail_options
        mail = next(c for c in commands(server) if c.startswith("MAIL"))
        assert mail.startswith("MAIL FROM:<me@example.com> SIZE=") and mail.endswith(" SMTPUTF8")
        # The recorder decodes UTF-8: a Latin-1 byte would show as a surrogate.
        assert "RCPT TO:<j\u00fcrgen@example.com>" in commands(server)


def test_an_ascii_envelope_has_no_smtputf8_parameter() -> None:
    with utf8_server() as server:
        assert send(bridge(), server.port, ["ok@example.com"]) == (0, [])
        assert server.messages[0].mail_options == [f"SIZE={server.messages[0].mail_options[0][5:]}"]


def test_internationalized_domain_goes_as_a_labels_to_any_server() -> None:
    with RecordingServer() as server:
        code, result = send(bridge(), server.port, ["user@B\u00fccher\u3002example"],
                            sender="me@m\u00fcnchen.example")
        assert (code, result) == (0, [])
        assert server.messages[0].mail_from == "me@xn--mnchen-3ya.example"
        assert server.messages[0].rcpt_tos == ["user@xn--bcher-kva.example"]
        assert not any("SMTPUTF8" in c for c in commands(server))


def test_invalid_internationalized_domain_refused_locally() -> None:
    with utf8_server() as server:
        address = "user@b\u00fccher\u3002\u3002example"
        code, result = send(bridge(), server.port, ["ok@example.com", address])
        assert code == 0
        assert [(r[0], r[1]) for r in result] == [(address, "553")]
        assert result[0][2].startswith("5.1.3 domain b\u00fccher\u3002\u3002example is not a "
                                       "valid internationalized domain name (Empty Label")
        assert sum(c.startswith("RCPT") for c in commands(server)) == 1


def test_non_ascii_sender_without_smtputf8_is_a_refused_mail_from() -> None:
    with RecordingServer() as server:
        code, result = send(bridge(), server.port, ["b@example.com"], sender=GREEK)
        assert (code, result) == (7, [("code", "553", "diagnostic", NEEDS_SMTPUTF8)])
        assert not any(c.startswith(("MAIL", "RCPT", "DATA")) for c in commands(server))
        assert server.messages == []
    with utf8_server() as server:
        code, result = send(bridge(), server.port, ["b@example.com"], sender=GREEK)
        assert (code, result) == (0, [])
        assert server.messages[0].mail_from == GREEK
        assert "SMTPUTF8" in server.messages[0].mail_options


# -- hostile and huge names ---------------------------------------------------------

HUGE = {
    "1MB-dotted-domain": "spy@" + "a." * 500_000 + "rivals.example",
    "1MB-label": "spy@" + "\u00e9" * 1_000_000 + ".rivals.example",
    "10k-ideographic-dots": "spy@rivals" + "\u3002" * 10_000 + "example",
}


@pytest.mark.parametrize("address", HUGE.values(), ids=HUGE.keys())
def test_huge_names_refused_cleanly_in_linear_time(address: str) -> None:
    with utf8_server() as server:
        start = time.perf_counter()
        code, result = send(bridge(DENY), server.port, ["ok@ok.example", address])
        elapsed = time.perf_counter() - start
        assert code == 0
        assert [(r[0], r[1]) for r in result] == [(address, "550")]
        assert "cannot be normalised (IDNA: longer than 1024 characters)" in result[0][2]
        assert [m.rcpt_tos for m in server.messages] == [["ok@ok.example"]]
        if not address.isascii():
            # Without a policy it has no wire form either (no A-labels).
            code, result = send(bridge(), server.port, ["ok@ok.example", address])
            assert [(r[0], r[1]) for r in result] == [(address, "553")]
        elapsed = time.perf_counter() - start
        assert elapsed < TIME_BOUND, f"{len(address)} characters took {elapsed:.1f}s"


def test_normalise_is_bounded_before_mapping() -> None:
    start = time.perf_counter()
    for text in ("\u3002" * 10_000, "a" * 1_000_000, "\u00e9" * 1_000_000):
        with pytest.raises(domains.DomainError):
            domains.normalize(text)
    assert time.perf_counter() - start < TIME_BOUND


# -- start-up ------------------------------------------------------------------------


def imports_idna(tmp_path: Path, address: str, *policy_args: str) -> bool:
    """Whether `tclbridge run` of a one-message script loads the idna package."""
    with RecordingServer() as server:
        script = tmp_path / "plain.tcl"
        script.write_text(
            "package require smtp\n"
            "set t [mime::initialize -canonical text/plain -string hi]\n"
            f"smtp::sendmessage $t -servers 127.0.0.1 -ports {server.port} "
            f"-recipients {address}\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != site_policy.POLICY_ENV}
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "tclbridge", "run", *policy_args,
             str(script)],
            capture_output=True, text=True, timeout=60,
            env={**env, "PYTHONPATH": str(REPO), "TCLBRIDGE_TIMEOUT_SCALE": "0.05"})
        assert out.returncode == 0, out.stderr[-2000:]
        assert len(server.messages) == 1
    return any(line.rsplit("|", 1)[-1].strip() == "idna" for line in out.stderr.splitlines())


def test_idna_is_imported_only_when_needed(tmp_path: Path) -> None:
    assert not imports_idna(tmp_path, "a@example.com")
    assert imports_idna(tmp_path, "a@b\u00fccher.example")
    deny = tmp_path / "policy.toml"
    deny.write_text('recipients.deny_domains = ["rivals.example"]\n')
    assert imports_idna(tmp_path, "a@example.com", "--policy", str(deny))


# -- a real MTA ----------------------------------------------------------------------

UTF8_SCRIPT = r"""
package require smtp
lassign $argv host port user pass
set tok [mime::initialize -canonical text/plain -string "Gr\u00fc\u00dfe\n"]
set rc [catch {
    smtp::sendmessage $tok -servers [list $host] -ports [list $port] \
        -username $user -password $pass -atleastone 1 \
        -originator "\u03b1\u03b2@example.org" \
        -recipients "j\u00fcrgen@example.org, user@b\u00fccher.example"
} res]
puts "rc=$rc res=$res"
"""


@pytest.mark.postfix
def test_smtputf8_through_postfix(tmp_path: Path, postfix_relay: PostfixRelay) -> None:
    seen = len(postfix_relay.messages)
    script = tmp_path / "utf8.tcl"
    script.write_text(UTF8_SCRIPT)
    out = subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", "--cafile", str(postfix_relay.ca_file),
         str(script), "localhost", str(postfix_relay.port), postfix_relay.username,
         postfix_relay.password],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert (out.returncode, out.stdout) == (0, "rc=0 res=\n"), out.stderr
    [message] = postfix_relay.wait_for_message(since=seen)
    # Postfix took SMTPUTF8 from the bridge and used it for the next hop.
    assert message.mail_from == "\u03b1\u03b2@example.org"
    assert message.rcpt_tos == ["j\u00fcrgen@example.org", "user@xn--bcher-kva.example"]
    assert "SMTPUTF8" in message.mail_options
