"""The site policy: unmodified scripts obey relay, recipient, TLS, credential
and originator rules; every decision is in -debug output and capture files;
bad policy files stop `tclbridge run` with exit 2 before the script runs."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from tclbridge import Interp, site_policy
from tclbridge.config import BridgeConfig
from tclbridge.journal import ConnectionJournal
from tclbridge.recorder import RecordingServer, ServerScript
from tests.support.recording import scripted_server
from tests.support.sasl_server import PASSWORD, TOKEN, USERNAME, SaslServer

REPO = Path(__file__).resolve().parent.parent
POLICY_PASSWORD_ENV = "TCLBRIDGE_TEST_POLICY_PASSWORD"


def write_policy(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def bridge(site: site_policy.SitePolicy | None, **config: object) -> Interp:
    tcl = Interp(BridgeConfig(timeout_scale=0.05, policy=site, **config))  # type: ignore[arg-type]
    tcl.eval("package require smtp")
    tcl.eval("proc policy {answer args} {lappend ::policy_calls $args; return $answer}")
    return tcl


def send(tcl: Interp, options: str) -> tuple[int, str]:
    tcl.eval("set tok [mime::initialize -canonical text/plain -string {hello}]")
    code = tcl.eval(f"catch {{smtp::sendmessage $tok {options}}} res")
    return int(code), tcl.eval("set res")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != site_policy.POLICY_ENV}
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", *args],
        capture_output=True, text=True, timeout=60,
        env={**environ, **(env or {}), "PYTHONPATH": str(REPO),
             "TCLBRIDGE_TIMEOUT_SCALE": "0.05"},
    )


def script_file(tmp_path: Path, send_options: str) -> Path:
    script = tmp_path / "legacy.tcl"
    script.write_text(
        "package require smtp\n"
        "set t [mime::initialize -canonical text/plain -string hi]\n"
        f"puts \"result: [smtp::sendmessage $t {send_options}]\"\n"
    )
    return script


# -- relay -----------------------------------------------------------------


def test_relay_takes_all_mail_and_says_so(
    tmp_path: Path, server: RecordingServer, capfd: pytest.CaptureFixture[str]
) -> None:
    site = site_policy.load(
        write_policy(tmp_path, f'[relay]\nserver = "127.0.0.1:{server.port}"\n'))
    tcl = bridge(site)
    code, _ = send(tcl, "-servers {mail.invalid backup.invalid} -ports {25 587} -debug 1"
                        " -header {To a@example.com} -header {From b@example.com}")
    assert code == 0
    assert [m.rcpt_tos for m in server.messages] == [["a@example.com"]]
    err = capfd.readouterr().err
    assert (f"policy relay: all mail goes to 127.0.0.1:{server.port} instead of "
            "mail.invalid:25 backup.invalid:587\n") in err
    assert "Trying 127.0.0.1..." in err and "mail.invalid..." not in err


def test_command_line_server_wins_over_relay(tmp_path: Path, server: RecordingServer) -> None:
    site = site_policy.load(write_policy(tmp_path, '[relay]\nserver = "relay.invalid"\n'))
    records = ConnectionJournal()
    tcl = bridge(site, server_override=("127.0.0.1", server.port), journal=records)
    assert send(tcl, "-servers mail.invalid -header {To a@example.com}")[0] == 0
    assert len(server.messages) == 1
    record = records.for_peer(server.sessions[0].peer)
    assert record is not None and record.servers == ["mail.invalid:25"]
    assert record.policy == [{
        "rule": "relay",
        "decision": f"relay.invalid:25 not used: the command line sends all mail to "
                    f"127.0.0.1:{server.port}",
    }]


def test_flag_wins_over_env_and_env_alone_applies(tmp_path: Path) -> None:
    with RecordingServer() as by_env, RecordingServer() as by_flag:
        env_policy = write_policy(tmp_path, f'relay.server = "127.0.0.1:{by_env.port}"\n', "e.toml")
        flag_policy = write_policy(
            tmp_path, f'relay.server = "127.0.0.1:{by_flag.port}"\n', "f.toml")
        script = script_file(tmp_path, "-servers mail.invalid -header {To a@example.com}")
        env = {site_policy.POLICY_ENV: str(env_policy)}
        out = run_cli(str(script), env=env)
        assert out.returncode == 0, out.stderr
        assert len(by_env.messages) == 1 and by_flag.messages == []
        out = run_cli("--policy", str(flag_policy), str(script), env=env)
        assert out.returncode == 0, out.stderr
        assert len(by_env.messages) == 1 and len(by_flag.messages) == 1


# -- recipients --------------------------------------------------------------


def test_denied_recipient_reported_like_a_server_refusal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    site = site_policy.load(write_policy(
        tmp_path, '[recipients]\ndeny_domains = ["Rivals.example"]\n'))
    tcl = bridge(site)
    with scripted_server(replies={"RCPT:gone@ok.example": "550 5.1.1 no such user"}) as srv:
        to = "ok@ok.example, x@sub.rivals.example, gone@ok.example"
        base = f"-servers 127.0.0.1 -ports {srv.port} -debug 1 -header {{To {{{to}}}}}"
        code, result = send(tcl, base)
        assert code == 0
        # Both refusals in recipient order, with the same shape; no DATA (no -atleastone).
        assert tcl.eval(f"lindex {{{result}}} 0") == (
            "x@sub.rivals.example 550 {5.7.1 <x@sub.rivals.example>: recipient refused by "
            "site policy (domain sub.rivals.example is in deny_domains)}")
        assert tcl.eval(f"lindex {{{result}}} 1") == "gone@ok.example 550 {5.1.1 no such user}"
        assert srv.messages == []
        assert "RSET" in srv.sessions[0].commands
        # -atleastone: the allowed recipient gets the message, the same list comes back.
        assert send(tcl, base + " -atleastone 1") == (code, result)
        assert [m.rcpt_tos for m in srv.messages] == [["ok@ok.example"]]
        sent = [c for s in srv.sessions for c in s.commands]
        assert not any("rivals" in c.lower() for c in sent)
    err = capfd.readouterr().err
    assert "policy recipients: allowed <ok@ok.example>\n" in err
    assert ("policy recipients: refused <x@sub.rivals.example>: domain sub.rivals.example "
            "is in deny_domains\n") in err


def test_allow_list_refusing_everyone_never_connects(
    tmp_path: Path, server: RecordingServer
) -> None:
    site = site_policy.load(write_policy(tmp_path, 'recipients.allow_domains = ["example.com"]\n'))
    tcl = bridge(site)
    options = (f"-servers 127.0.0.1 -ports {server.port}"
               " -header {To {a@example.org, b@notexample.com}} -header {Bcc c@example.net}")
    code, result = send(tcl, options)
    assert code == 0
    # The Bcc transaction's list is appended as tcllib appends it (string concatenation).
    assert result == (
        "{a@example.org 550 {5.7.1 <a@example.org>: recipient refused by site policy (domain "
        "example.org is not in allow_domains)}} {b@notexample.com 550 {5.7.1 <b@notexample.com>:"
        " recipient refused by site policy (domain notexample.com is not in allow_domains)}}"
        "{c@example.net 550 {5.7.1 <c@example.net>: recipient refused by site policy (domain "
        "example.net is not in allow_domains)}}")
    assert server.sessions == []
    # Subdomains of an allowed domain are allowed, Bcc recipients are screened too.
    options = (f"-servers 127.0.0.1 -ports {server.port} -header {{To a@mail.example.com}}"
               " -header {Bcc c@example.net}")
    assert send(tcl, options)[0] == 0
    assert [m.rcpt_tos for m in server.messages] == [["a@mail.example.com"]]
    assert not any("example.net" in c for c in server.sessions[0].commands)


ROUTED = ("a@evil.com@ok.com", '"a@evil.com"@ok.com', "a%evil.com@ok.com", "evil.com!a@ok.com",
          "evil.com!a")


@pytest.mark.parametrize("lists", [{"allow_domains": ["ok.com"]}, {"deny_domains": ["evil.com"]}])
def test_routing_in_the_local_part_refused_under_a_domain_list(lists: dict) -> None:
    # Only the domain after the last "@" is matched; a relay that applies
    # the percent hack or a bang path would deliver these to evil.com.
    site = site_policy.parse({"recipients": lists})
    for address in ROUTED:
        local = address.rpartition("@")[0] or address
        assert site.recipient_refusal(address) == (
            f"routing in the local part {local} is refused")
    assert site.recipient_refusal("good@ok.com") is None
    # Without a recipient list the policy does not judge addresses.
    assert all(site_policy.parse({}).recipient_refusal(a) is None for a in ROUTED)


def test_routed_recipients_never_reach_the_server(server: RecordingServer) -> None:
    tcl = bridge(site_policy.parse({"recipients": {"allow_domains": ["ok.com"]}}))
    to = 'good@ok.com, "a@evil.com"@ok.com, a%evil.com@ok.com, evil.com!a@ok.com'
    code, result = send(tcl, f"-servers 127.0.0.1 -ports {server.port} -atleastone 1"
                             f" -header {{To {{{to}}}}}")
    assert code == 0
    assert tcl.eval(f"lindex {{{result}}} 0") == (
        '{"a@evil.com"@ok.com} 550 {5.7.1 <"a@evil.com"@ok.com>: recipient refused by site '
        'policy (routing in the local part "a@evil.com" is refused)}')
    assert tcl.eval(f"llength {{{result}}}") == "3"
    assert [m.rcpt_tos for m in server.messages] == [["good@ok.com"]]
    assert not any("evil" in c for c in server.sessions[0].commands)


# -- TLS required -------------------------------------------------------------


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA) -> RecordingServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return RecordingServer(ServerScript(capabilities=["STARTTLS"]), tls_context=context)


TLS_REQUIRED = "[tls]\nrequired = true\n"


def test_tls_required_upgrades_even_with_usetls_0(
    tmp_path: Path, ca: trustme.CA, capfd: pytest.CaptureFixture[str]
) -> None:
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    site = site_policy.load(write_policy(tmp_path, TLS_REQUIRED))
    with tls_server(ca) as srv:
        tcl = bridge(site, cafiles=[str(cafile)])
        code, _ = send(tcl, f"-servers localhost -ports {srv.port} -usetls 0 -debug 1"
                            " -header {To a@example.com}")
        assert code == 0
        assert srv.sessions[0].commands[1] == "STARTTLS" and len(srv.messages) == 1
    err = capfd.readouterr().err
    assert "policy tls: STARTTLS with localhost although the script says -usetls 0\n" in err
    assert "policy tls: session with localhost is TLS, certificate verified\n" in err


def test_tls_required_gives_up_on_unverified_certificate(
    tmp_path: Path, ca: trustme.CA
) -> None:
    site = site_policy.load(write_policy(tmp_path, TLS_REQUIRED))
    with tls_server(ca) as srv:
        # Not trusted, and neither -tlspolicy insecure nor --tls-no-verify lowers the bar.
        for tcl in (bridge(site), bridge(site, tls_verify=False)):
            code, result = send(tcl, f"-servers localhost -ports {srv.port}"
                                     " -tlspolicy {policy insecure} -header {To a@example.com}")
            assert code == 1
            assert result.startswith("site policy requires verified TLS, but the certificate "
                                     "of localhost could not be verified (")
            assert "--cafile" in result and "--tls-no-verify" not in result
            assert tcl.eval("set errorCode") == "TCLBRIDGE POLICY TLS"
            assert tcl.eval("info exists ::policy_calls") == "0"
        assert srv.messages == []
        assert not any(c.startswith("MAIL") for s in srv.sessions for c in s.commands)


def test_tls_required_without_starttls_or_when_refused(tmp_path: Path) -> None:
    site = site_policy.load(write_policy(tmp_path, TLS_REQUIRED))
    tcl = bridge(site)
    with scripted_server() as plain, scripted_server(capabilities=["STARTTLS"]) as refusing:
        code, result = send(tcl, f"-servers 127.0.0.1 -ports {plain.port}"
                                 " -header {To a@example.com}")
        assert (code, result) == (1, "site policy requires TLS, but 127.0.0.1 does not offer "
                                     "STARTTLS")
        # The last server's reason is the error; -tlspolicy is not asked.
        code, result = send(
            tcl, f"-servers {{127.0.0.1 127.0.0.1}} -ports {{{plain.port} {refusing.port}}}"
                 " -tlspolicy {policy insecure} -header {To a@example.com}")
        assert (code, result) == (1, "site policy requires TLS, but 127.0.0.1 refused "
                                     "STARTTLS: 454 TLS not available")
        assert tcl.eval("info exists ::policy_calls") == "0"
        sent = [c for s in plain.sessions + refusing.sessions for c in s.commands]
        assert not any(c.startswith(("MAIL", "RCPT", "DATA")) for c in sent)


# -- credentials ---------------------------------------------------------------


def test_default_credentials_per_server_hidden_in_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(POLICY_PASSWORD_ENV, PASSWORD)
    site = site_policy.load(write_policy(tmp_path, (
        f'[credentials."127.0.0.1"]\nusername = "{USERNAME}"\n'
        f'password_env = "{POLICY_PASSWORD_ENV}"\n'
        '[credentials."other.invalid"]\nusername = "nobody"\npassword = "nope"\n')))
    assert PASSWORD not in repr(site)
    tcl = bridge(site)
    with SaslServer(["PLAIN", "LOGIN"]) as srv:
        assert send(tcl, f"-servers 127.0.0.1 -ports {srv.port} -debug 1"
                         " -header {To a@example.com}")[0] == 0
        assert srv.succeeded == ["LOGIN"]
        # The script's own -username wins (here with a wrong password: nothing succeeds).
        assert send(tcl, f"-servers 127.0.0.1 -ports {srv.port} -username {USERNAME}"
                         " -password wrong -header {To a@example.com}")[0] == 0
        assert srv.succeeded == ["LOGIN"] and len(srv.attempts) == 3
    err = capfd.readouterr().err
    assert (f"policy credentials: AUTH to 127.0.0.1 as {USERNAME} with the policy's "
            "password <hidden>\n") in err
    assert PASSWORD not in err and "--> <hidden>" in err


def test_oauth_token_command_from_policy(tmp_path: Path) -> None:
    site = site_policy.load(write_policy(tmp_path, (
        f'[credentials.localhost]\nusername = "{USERNAME}"\n'
        f'oauth_token_command = "echo {TOKEN}"\n')))
    with SaslServer(["XOAUTH2"]) as srv:
        tcl = bridge(site)
        assert send(tcl, f"-servers localhost -ports {srv.port} -header {{To a@example.com}}"
                    )[0] == 0
        assert srv.succeeded == ["XOAUTH2"]


# -- originator -------------------------------------------------------------------


def test_originator_rewrites_envelope_only(
    tmp_path: Path, server: RecordingServer, capfd: pytest.CaptureFixture[str]
) -> None:
    site = site_policy.load(write_policy(tmp_path, 'originator.rewrite = "noreply@example.com"\n'))
    tcl = bridge(site)
    options = f"-servers 127.0.0.1 -ports {server.port} -debug 1 -header {{To a@example.com}}"
    assert send(tcl, options + " -originator me@example.org -header {Bcc b@example.com}")[0] == 0
    assert [m.mail_from for m in server.messages] == ["noreply@example.com"] * 2
    headers = server.messages[0].content.split(b"\r\n\r\n")[0].decode()
    assert "\r\nFrom: me@example.org\r\n" in "\r\n" + headers + "\r\n"
    assert "Sender:" not in headers and "noreply" not in headers
    # A null sender (a bounce) stays null.
    assert send(tcl, options + " -originator {}")[0] == 0
    assert server.messages[-1].mail_from == "<>"
    err = capfd.readouterr().err
    assert ("policy originator: envelope sender <noreply@example.com> instead of "
            "<me@example.org>; message headers unchanged\n") in err
    assert "policy originator: null sender <> kept (a bounce must stay one)\n" in err


# -- the command line: capture files, bad policy files ------------------------------


def test_capture_files_carry_every_decision(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path, (
        'relay.server = "relay.invalid:2525"\n'
        'recipients.deny_domains = ["rivals.example"]\n'
        'originator.rewrite = "noreply@example.com"\n'
        '[credentials."127.0.0.1"]\nusername = "app"\npassword = "s3cret-Policy"\n'))
    script = tmp_path / "legacy.tcl"
    script.write_text(
        "package require smtp\n"
        "set t [mime::initialize -canonical text/plain -string hi]\n"
        "puts [smtp::sendmessage $t -servers mail.invalid -atleastone 1 -originator me@x.org"
        " -debug 1 -header {To {a@example.com, b@rivals.example}}]\n"
        "puts [smtp::sendmessage $t -servers mail.invalid -header {To c@rivals.example}]\n"
    )
    out = run_cli("--policy", str(policy_file), "--capture", str(tmp_path / "cap"), str(script))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("recipient refused by site policy") == 2
    records = {p.name: json.loads(p.read_text()) for p in (tmp_path / "cap").glob("*.json")}
    assert sorted(records) == ["0001.json", "0002.json"]
    sent, unsent = records["0001.json"], records["0002.json"]
    assert sent["mail_from"] == "noreply@example.com" and sent["rcpt_tos"] == ["a@example.com"]
    rules = [entry["rule"] for entry in sent["policy"]]
    assert rules == ["recipients", "recipients", "relay", "credentials", "originator"]
    assert "the command line sends all mail to 127.0.0.1:" in sent["policy"][2]["decision"]
    assert sent["policy"][3]["decision"] == (
        "AUTH to 127.0.0.1 as app with the policy's password <hidden>")
    assert unsent["file"] is None and unsent["rcpt_tos"] == []
    assert unsent["policy"][-1]["decision"] == "every recipient refused: no connection made"
    assert "not sent 0002.json: the site policy refused every recipient" in out.stderr
    # The -debug transcript of the first send has the same decisions, password hidden.
    for entry in sent["policy"]:
        assert f"policy {entry['rule']}: {entry['decision']}\n" in out.stderr
    assert "--> <hidden> (wait upto 300 seconds)" in out.stderr
    texts = [out.stdout, out.stderr] + [p.read_text() for p in (tmp_path / "cap").iterdir()]
    assert not any("s3cret-Policy" in t for t in texts)


@pytest.mark.parametrize(("text", "message"), [
    ("relay = 3\n", "relay must be a table, not an integer"),
    ('[relay]\nsever = "x"\n', "unknown key relay.sever (known: server)"),
    ('[relays]\nserver = "x"\n', "unknown key relays (known: "),
    ('relay.server = "mail.example.com:smtp"\n', "relay.server: bad port in "),
    ('recipients.allow_domains = "example.com"\n',
     "recipients.allow_domains must be an array of domain names, not a string"),
    ('recipients.deny_domains = ["a@example.com"]\n', "'a@example.com' is not a domain name"),
    ('tls.required = "yes"\n', "tls.required must be true or false"),
    ('originator.rewrite = "Me <me@example.com>"\n', "is not a bare address"),
    ('[credentials.mail]\npassword = "x"\n', "credentials.mail.username is missing"),
    ('[credentials.mail]\nusername = "u"\n', "needs password, password_env or oauth_token"),
    ('[credentials.mail]\nusername = "u"\npassword = "x"\npassword_env = "Y"\n',
     "give password or password_env, not both"),
    ('[credentials.mail]\nusername = "u"\npassword_env = "TCLBRIDGE_TEST_UNSET_VAR"\n',
     "environment variable TCLBRIDGE_TEST_UNSET_VAR is not set or empty"),
    ('[credentials.mail]\nusername = "u"\npasswd = "x"\n', "unknown key credentials.mail.passwd"),
    ("relay = [\n", "not valid TOML"),
])
def test_bad_policy_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = write_policy(tmp_path, text)
    with pytest.raises(site_policy.PolicyError) as caught:
        site_policy.load(path)
    assert str(caught.value).startswith(f"policy {path}: ")
    assert message in str(caught.value)


def test_bad_policy_exits_2_before_the_script_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "s.tcl"
    script.write_text(f"close [open {marker} w]\n")
    bad = write_policy(tmp_path, '[tls]\nrequired = 1\npassword = "hunter2"\n')
    for args, env in (
        (["--policy", str(bad)], None),
        ([], {site_policy.POLICY_ENV: str(bad)}),
        (["--policy", str(tmp_path / "missing.toml")], None),
    ):
        out = run_cli(*args, str(script), env=env)
        assert out.returncode == 2
        assert out.stderr.startswith("tclbridge: policy ") and "Traceback" not in out.stderr
        assert "hunter2" not in out.stderr
        assert not marker.exists()
    assert "unknown key tls.password (known: required)" in run_cli(
        "--policy", str(bad), str(script)).stderr


def test_a_child_bridge_run_obeys_the_parents_policy_flag(
    tmp_path: Path, server: RecordingServer
) -> None:
    """`run --policy FILE` reaches a child `tclbridge run` the script starts,
    so the child cannot send to a denied domain."""
    site = write_policy(tmp_path, 'recipients.deny_domains = ["rivals.example"]\n')
    child = script_file(tmp_path, f"-servers 127.0.0.1 -ports {server.port}"
                                  " -header {To {ok@example.com, x@rivals.example}}"
                                  " -atleastone 1")
    parent = tmp_path / "parent.tcl"
    parent.write_text(f"puts [exec {{{sys.executable}}} -m tclbridge run {{{child}}}]\n")
    out = run_cli("--policy", str(site), str(parent))
    assert out.returncode == 0, out.stderr
    assert "x@rivals.example 550" in out.stdout
    assert [m.rcpt_tos for m in server.messages] == [["ok@example.com"]]
    sent = [c for s in server.sessions for c in s.commands]
    assert not any("rivals" in c for c in sent)
