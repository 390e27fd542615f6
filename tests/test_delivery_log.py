"""The delivery log (`run --log FILE`, `--syslog`, TCLBRIDGE_LOG/_SYSLOG).

Real `tclbridge run` scripts send to a recording server on 127.0.0.1 that
refuses what each test needs refused; the log file (or the datagrams a
Unix socket the test binds receives, for syslog) is then read back with
`parse_line` and checked against what the server saw.
"""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tclbridge.config import BridgeConfig
from tclbridge.delivery import Delivery, DeliveryRecipient, Outcome
from tclbridge.delivery_log import MAX_VALUE, DeliveryLog, format_line, parse_line
from tclbridge.recorder import RecordingServer, ServerScript
from tclbridge.smtp import sendmessage
from tests.support.log_runs import SEND_ONE, bridge_env, log_records, one, run_bridge
from tests.support.loopback import unlistened_port
from tests.support.tls_contexts import shared_ca

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the capture and syslog tests need Linux")


def _send(tmp_path: Path, server_ports: list[int], to: str, *options: str,
          bridge_options: tuple[str, ...] = (), env: dict[str, str] | None = None,
          ) -> tuple[subprocess.CompletedProcess[str], list[dict[str, list[str]]]]:
    script = tmp_path / "send.tcl"
    script.write_text(SEND_ONE)
    log = tmp_path / "delivery.log"
    done = run_bridge("--log", str(log), *bridge_options, str(script),
                      " ".join(map(str, server_ports)), to, *options, cwd=tmp_path, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done, log_records(log) if log.exists() else []


# -- one line per outcome -------------------------------------------------------------


def test_sent(tmp_path: Path) -> None:
    with RecordingServer() as srv:
        done, records = _send(tmp_path, [srv.port], "to@example.com")
    assert done.stdout == "rc=0 result=\n"
    [record] = records
    content = srv.messages[0].content
    assert one(record, "outcome") == "sent"
    assert one(record, "status") == "250"
    assert one(record, "transaction") == "message"
    assert one(record, "from") == "sender@example.com"
    assert record["rcpt"] == ["to@example.com:250"]
    assert one(record, "server") == f"127.0.0.1:{srv.port}"
    assert one(record, "tls") == "no"
    assert one(record, "size") == str(len(content))  # what the server received
    assert f"Message-ID: {one(record, 'msgid')}\r\n".encode() in content
    assert one(record, "script") == str(tmp_path / "send.tcl")
    assert int(one(record, "pid")) > 0
    when = datetime.fromisoformat(one(record, "time"))
    assert when.tzinfo is not None and abs(time.time() - when.timestamp()) < 60
    assert list(record) == ["time", "pid", "script", "transaction", "outcome", "status",
                            "from", "rcpt", "server", "tls", "size", "msgid", "detail"]


def test_refused_recipient_without_atleastone_sends_nothing(tmp_path: Path) -> None:
    script = ServerScript(replies={"RCPT:bad@example.com": "550 5.1.1 no such user"})
    with RecordingServer(script) as srv:
        done, [record] = _send(tmp_path, [srv.port], "good@example.com, bad@example.com")
    assert srv.messages == []
    assert "bad@example.com 550" in done.stdout
    assert one(record, "outcome") == "refused-rcpt"
    assert record["rcpt"] == ["good@example.com:250", "bad@example.com:550"]
    assert one(record, "size") == "-"
    assert one(record, "status") == "-"


def test_refused_recipient_with_atleastone_sends_to_the_others(tmp_path: Path) -> None:
    script = ServerScript(replies={"RCPT:bad@example.com": "550 5.1.1 no such user"})
    with RecordingServer(script) as srv:
        _, [record] = _send(tmp_path, [srv.port], "good@example.com, bad@example.com",
                            "-atleastone", "1")
    assert one(record, "outcome") == "sent"
    assert record["rcpt"] == ["good@example.com:250", "bad@example.com:550"]
    assert one(record, "size") == str(len(srv.messages[0].content))


def test_refused_mail(tmp_path: Path) -> None:
    script = ServerScript(replies={"MAIL": "553 5.7.1 sender not allowed"})
    with RecordingServer(script) as srv:
        done, [record] = _send(tmp_path, [srv.port], "to@example.com")
    assert done.stdout.startswith("rc=7 ")
    assert one(record, "outcome") == "refused-mail"
    assert one(record, "status") == "553"
    assert one(record, "detail") == "5.7.1 sender not allowed"
    assert record["rcpt"] == ["to@example.com:-"]  # never asked
    assert one(record, "server") == f"127.0.0.1:{srv.port}"


def test_refused_data(tmp_path: Path) -> None:
    script = ServerScript(replies={"DATA": "554 5.3.0 no data today"})
    with RecordingServer(script) as srv:
        done, [record] = _send(tmp_path, [srv.port], "to@example.com")
    assert done.stdout.startswith("rc=7 ")
    assert one(record, "outcome") == "refused-data"
    assert one(record, "status") == "554"
    assert record["rcpt"] == ["to@example.com:250"]
    assert one(record, "size") == "-"


def test_refused_message_after_the_final_dot(tmp_path: Path) -> None:
    script = ServerScript(replies={"DOT": "552 5.3.4 message too big"})
    with RecordingServer(script) as srv:
        _, [record] = _send(tmp_path, [srv.port], "to@example.com")
    assert one(record, "outcome") == "refused-message"
    assert one(record, "status") == "552"
    assert int(one(record, "size")) > 0  # it was sent, then refused


def test_connection_failure_names_each_server_tried(tmp_path: Path) -> None:
    with unlistened_port() as first, unlistened_port() as second:
        ports = [first, second]
        done, [record] = _send(tmp_path, ports, "to@example.com")
    assert done.stdout.startswith("rc=1 ")
    assert one(record, "outcome") == "connect-failed"
    assert one(record, "server") == f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    assert "refused" in one(record, "detail").lower()
    assert record["rcpt"] == ["to@example.com:-"]
    assert one(record, "tls") == "no"
    assert one(record, "status") == "-"


def test_bcc_transaction_has_its_own_line(tmp_path: Path) -> None:
    with RecordingServer() as srv:
        _, records = _send(tmp_path, [srv.port], "to@example.com",
                           "-header", "Bcc hidden@example.com")
    message, bcc = records
    assert one(message, "transaction") == "message"
    assert message["rcpt"] == ["to@example.com:250"]
    assert one(bcc, "transaction") == "bcc"
    assert one(bcc, "outcome") == "sent"
    assert bcc["rcpt"] == ["hidden@example.com:250"]
    assert one(bcc, "msgid") != one(message, "msgid")  # the digest's own
    assert [int(one(r, "size")) for r in records] == [len(m.content) for m in srv.messages]


def test_tls_version_is_logged(tmp_path: Path, cafile: str) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    shared_ca().issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    with RecordingServer(ServerScript(capabilities=["STARTTLS"]),
                         tls_context=server_ctx) as srv:
        _, [record] = _send(tmp_path, [srv.port], "to@example.com",
                            env=bridge_env(TCLBRIDGE_CAFILE=cafile))
    assert srv.sessions[0].tls is not None
    assert one(record, "outcome") == "sent"
    assert one(record, "tls") in ("TLSv1.2", "TLSv1.3")


def test_python_api_send_is_logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "api.log"
    monkeypatch.setenv("TCLBRIDGE_LOG", str(log))  # read by the config of each send
    with RecordingServer() as srv:
        refused = sendmessage(b"From: a@example.com\nTo: b@example.com\n\nhi\n",
                              servers=["127.0.0.1"], ports=[srv.port])
    assert refused == []
    [record] = log_records(log)
    assert one(record, "outcome") == "sent"
    assert record["rcpt"] == ["b@example.com:250"]
    assert one(record, "size") == str(len(srv.messages[0].content))


# -- hostile values, secrets ------------------------------------------------------------

HOSTILE = 'we"ird \\x0d\\ = \r\n\t\x00\x1b[31m\x7f\x85\u2028\u202e\udcff end'


def test_hostile_values_stay_on_one_line_and_read_back() -> None:
    delivery = Delivery(
        transaction="message", outcome=Outcome.REFUSED_MAIL, sender=HOSTILE,
        recipients=(DeliveryRecipient(HOSTILE, 550), DeliveryRecipient("", None)),
        servers=("h st:25", "[::1]:25"), tls=None, size=None, message_id=HOSTILE,
        status=550, detail=HOSTILE)
    line = format_line(delivery, script=HOSTILE, pid=7, when=datetime.now().astimezone())
    assert line.isprintable()  # no CR, LF, control or format character: one line
    line.encode("utf-8")  # no lone surrogate either
    pairs = dict(parse_line(line))
    # The byte a lone surrogate stands for reads back as that code point.
    expected = HOSTILE.replace("\udcff", "\xff")
    assert pairs["from"] == pairs["msgid"] == pairs["detail"] == pairs["script"] == expected
    assert [v for k, v in parse_line(line) if k == "rcpt"] == [f"{expected}:550", ":-"]
    assert pairs["server"] == "h st:25,[::1]:25"


def test_a_huge_value_is_cut_in_linear_time() -> None:
    huge = "\r\n" * 5_000_000
    delivery = Delivery(transaction="message", outcome=Outcome.SENT, sender="a@b",
                        recipients=(), servers=(), tls=None, size=1, message_id=huge,
                        status=250, detail="")
    started = time.monotonic()
    line = format_line(delivery, script="s", pid=1, when=datetime.now().astimezone())
    assert time.monotonic() - started < 1.0
    msgid = dict(parse_line(line))["msgid"]
    assert msgid == huge[:MAX_VALUE] + f"[{len(huge) - MAX_VALUE} more characters]"
    assert len(line) < 10 * MAX_VALUE


def test_hostile_server_reply_and_addresses_from_a_script(tmp_path: Path) -> None:
    # What a script can put in an address or a Message-ID (line breaks are
    # refused before any connection), and what a server can say.
    sender = '"odd \\"q\\" = sender"@example.com'
    msgid = '<id "quoted" \x1b[2J\u202e=x@example.com>'
    script = ServerScript(replies={"MAIL": "550-first \x1b]0;title\x07 line\r\n550 \"second\""})
    with RecordingServer(script) as srv:
        _, [record] = _send(tmp_path, [srv.port], "to@example.com", "-originator", sender,
                            "-header", f"Message-ID {{{msgid}}}")
    raw = (tmp_path / "delivery.log").read_text()
    assert raw.count("\n") == 1  # only the final LF
    assert raw[:-1].isprintable()
    assert one(record, "from") == sender
    assert one(record, "msgid") == msgid
    assert one(record, "outcome") == "refused-mail"
    assert "\x1b]0;title\x07" in one(record, "detail")


def test_no_password_or_auth_payload_in_the_log(tmp_path: Path) -> None:
    password = "s3cret-Pa55"
    secrets = [password, base64.b64encode(password.encode()).decode(),  # LOGIN's answer
               base64.b64encode(b"\0user\0" + password.encode()).decode()]  # PLAIN's
    outcomes = []
    for credentials in ({"user": password}, {"user": "other"}):
        # A wrong password: tcllib goes on without AUTH, and MAIL is refused.
        script = ServerScript(capabilities=["AUTH PLAIN LOGIN"], credentials=credentials,
                              auth_required=True)
        with RecordingServer(script, auth_hide=False) as srv:
            _, [record] = _send(tmp_path, [srv.port], "to@example.com",
                                "-username", "user", "-password", password)
        sent = " ".join(c for s in srv.sessions for c in s.commands)
        assert secrets[1] in sent  # the control: the search finds what went to the server
        text = (tmp_path / "delivery.log").read_text()
        assert [s for s in secrets if s in text] == []
        outcomes.append(one(record, "outcome"))
        (tmp_path / "delivery.log").unlink()
    assert outcomes == ["sent", "refused-mail"]


# -- several writers, failures -----------------------------------------------------------

# Sends COUNT messages, each to RECIPIENTS long addresses (lines of ~20 KB).
MANY = r"""
package require smtp
lassign $argv port count recipients
set to [list]
for {set i 0} {$i < $recipients} {incr i} {
    lappend to "[string repeat x 200].[pid].$i@example.com"
}
for {set n 0} {$n < $count} {incr n} {
    set tok [mime::initialize -canonical text/plain -string "message $n\n"]
    smtp::sendmessage $tok -servers 127.0.0.1 -ports $port -originator a@example.com \
        -recipients [join $to ,] -header [list Subject "n=$n"]
    mime::finalize $tok
}
"""


def test_several_processes_append_whole_lines(tmp_path: Path) -> None:
    (tmp_path / "many.tcl").write_text(MANY)
    log = tmp_path / "shared.log"
    processes, count, recipients = 6, 10, 100
    with RecordingServer() as srv:
        runs = [subprocess.Popen(
            [sys.executable, "-m", "tclbridge", "run", "many.tcl", str(srv.port), str(count),
             str(recipients)], cwd=tmp_path, env=bridge_env(TCLBRIDGE_LOG=str(log)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(processes)]
        for run in runs:
            _, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
    records = log_records(log)
    assert len(records) == processes * count
    pids = {run.pid for run in runs}
    for record in records:
        pid = one(record, "pid")
        assert int(pid) in pids
        assert len(record["rcpt"]) == recipients
        assert all(f".{pid}." in r and r.endswith(":250") for r in record["rcpt"])
    assert len(log.read_bytes()) > processes * count * recipients * 200


def test_unopenable_log_stops_the_run_before_the_script(tmp_path: Path) -> None:
    script = tmp_path / "hello.tcl"
    script.write_text("puts hello\n")
    done = run_bridge("--log", str(tmp_path / "no" / "such.log"), str(script), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"tclbridge: --log {tmp_path}/no/such.log: cannot open "
                           f"{tmp_path}/no/such.log for appending: No such file or directory\n")
    done = run_bridge(str(script), cwd=tmp_path,
                      env=bridge_env(TCLBRIDGE_LOG=str(tmp_path)))  # a directory
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"tclbridge: TCLBRIDGE_LOG={tmp_path}: cannot open")


def test_a_failing_write_does_not_break_the_send(tmp_path: Path) -> None:
    script = tmp_path / "twice.tcl"
    script.write_text(SEND_ONE + "set tok [mime::initialize -canonical text/plain -string x]\n"
                      "smtp::sendmessage $tok -servers 127.0.0.1 -ports $ports"
                      " -originator a@b.c -recipients d@e.f\nputs again\n")
    with RecordingServer() as srv:
        # /dev/full opens for appending; each write fails with ENOSPC.
        done = run_bridge("--log", "/dev/full", str(script), str(srv.port), "to@example.com",
                          cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "rc=0 result=\nagain\n")
    assert len(srv.messages) == 2
    assert done.stderr == ("tclbridge: warning: cannot write the delivery log /dev/full: No "
                           "space left on device (the mail is sent all the same; later failures"
                           " are not reported)\n")


# -- syslog --------------------------------------------------------------------------------


def _syslog_socket(tmp_path: Path) -> tuple[socket.socket, str]:
    path = str(tmp_path / "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    return sock, path


@pytest.mark.parametrize("how", ["option", "environment"])
def test_syslog_gets_the_same_lines(tmp_path: Path, how: str) -> None:
    sock, path = _syslog_socket(tmp_path)
    settings = {"TCLBRIDGE_SYSLOG_SOCKET": path}
    options: tuple[str, ...] = ("--syslog",)
    if how == "environment":
        settings["TCLBRIDGE_SYSLOG"] = "1"
        options = ()
    script = ServerScript(replies={"RCPT:bad@example.com": "550 no"})
    with sock, RecordingServer(script) as srv:
        _, records = _send(tmp_path, [srv.port], "to@example.com", "-header",
                           "Bcc bad@example.com", bridge_options=options,
                           env=bridge_env(**settings))
        datagrams = [sock.recv(65536), sock.recv(65536)]
    file_lines = (tmp_path / "delivery.log").read_text().splitlines()
    assert len(records) == 2
    # mail.info (2*8+6) for the message sent, mail.err (2*8+3) for the Bcc refused.
    assert datagrams == [f"<22>tclbridge: {file_lines[0]}\0".encode(),
                         f"<19>tclbridge: {file_lines[1]}\0".encode()]


def test_syslog_socket_missing_stops_the_run(tmp_path: Path) -> None:
    script = tmp_path / "hello.tcl"
    script.write_text("puts hello\n")
    missing = str(tmp_path / "nobody.sock")
    done = run_bridge("--syslog", str(script), cwd=tmp_path,
                      env=bridge_env(TCLBRIDGE_SYSLOG_SOCKET=missing))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"tclbridge: --syslog: cannot connect to {missing}: "
                                  "No such file or directory")


# -- under capture ------------------------------------------------------------------------


def test_capture_run_logs_the_capture_server(tmp_path: Path) -> None:
    done, [record] = _send(tmp_path, [25], "to@example.com",
                           bridge_options=("--capture", str(tmp_path / "cap")))
    assert done.stdout == "rc=0 result=\n", done.stderr
    assert one(record, "outcome") == "sent"
    assert one(record, "server").startswith("127.0.0.1:")
    assert one(record, "server") != "127.0.0.1:25"  # the capture server took it
    eml = (tmp_path / "cap" / "0001.eml").read_bytes()
    assert f"Message-ID: {one(record, 'msgid')}".encode() in eml
    assert one(record, "size") == str(len(eml))


def test_a_log_object_writes_for_a_config(tmp_path: Path) -> None:
    log = tmp_path / "cfg.log"
    config = BridgeConfig(delivery_log=DeliveryLog.open(str(log), script="job"))
    with RecordingServer() as srv:
        sendmessage(b"From: a@example.com\nTo: b@example.com\n\nhi\n",
                    servers=["127.0.0.1"], ports=[srv.port], config=config)
    [record] = log_records(log)
    assert one(record, "script") == str(Path("job").resolve())


# -- the other outcomes -----------------------------------------------------------------


def test_site_policy_refusing_everyone_logs_without_a_connection(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[recipients]\ndeny_domains = ["rivals.example"]\n')
    with RecordingServer() as srv:
        done, records = _send(tmp_path, [srv.port], "x@rivals.example",
                              "-header", "Bcc y@rivals.example",
                              bridge_options=("--policy", str(policy)))
    assert srv.sessions == []
    assert [one(r, "outcome") for r in records] == ["refused-policy"] * 2, done.stderr
    assert [r["rcpt"] for r in records] == [["x@rivals.example:550"], ["y@rivals.example:550"]]
    assert [one(r, "server") for r in records] == ["-", "-"]


def test_maxsecs_zero_is_unconfirmed(tmp_path: Path) -> None:
    with RecordingServer() as srv:
        _, [record] = _send(tmp_path, [srv.port], "to@example.com", "-maxsecs", "0")
    assert one(record, "outcome") == "unconfirmed"
    assert one(record, "status") == "-"
    assert int(one(record, "size")) > 0


def test_bcc_to_nobody_is_no_rcpt(tmp_path: Path) -> None:
    with RecordingServer() as srv:
        _, records = _send(tmp_path, [srv.port], "to@example.com", "-header", "Bcc {}")
    assert [one(r, "outcome") for r in records] == ["sent", "no-rcpt"]
    assert "rcpt" not in records[1]


# The parent runs a child `tclbridge run` (argv: PYTHON PORT) that sends.
PARENT = r"""
lassign $argv python port
puts [exec $python -m tclbridge run child.tcl $port]
"""
CHILD = r"""
package require smtp
set tok [mime::initialize -canonical text/plain -string "from the child\n"]
smtp::sendmessage $tok -servers 127.0.0.1 -ports [lindex $argv 0] \
    -originator child@example.com -recipients to@example.com
puts sent
"""


def test_a_child_run_logs_to_the_parents_file(tmp_path: Path) -> None:
    (tmp_path / "parent.tcl").write_text(PARENT)
    (tmp_path / "child.tcl").write_text(CHILD)
    with RecordingServer() as srv:
        done = run_bridge("--log", "shared.log", "parent.tcl", sys.executable, str(srv.port),
                          cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "sent\n"), done.stderr
    [record] = log_records(tmp_path / "shared.log")
    assert one(record, "from") == "child@example.com"
    assert one(record, "script") == str(tmp_path / "child.tcl")
