"""`tclbridge capture list` and `capture show` on the captures of a real
`tclbridge run --capture DIR` (a script with an attachment, AUTH, a hostile
Subject and a site policy that refuses recipients), run as a user runs them."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hermetic import bridge_env, numbered, tclbridge

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("tclsh") is None,
    reason="needs Linux namespaces and tclsh")

PASSWORD = "S3cret-Pw0rd"
POLICY = '[recipients]\ndeny_domains = ["rivals.example"]\n'
SCRIPT = r"""
package require smtp
package require mime
set text [mime::initialize -canonical text/plain -param {charset utf-8} \
    -string "Dear boss,\n\tthe figures are attached.\n"]
set blob [mime::initialize -canonical application/octet-stream -encoding base64 \
    -header {Content-Disposition {attachment; filename="figures.bin"}} -file figures.bin]
set tok [mime::initialize -canonical multipart/mixed -parts [list $text $blob]]
smtp::sendmessage $tok -servers mail.example -username alice -password @PASSWORD@ \
    -header {From ops@example.com} -header {To {boss@example.com, spy@rivals.example}} \
    -header "Subject {figures \x1b\[2J\x9b31m}" -atleastone 1
set note [mime::initialize -canonical text/plain -string "not for them\n"]
smtp::sendmessage $note -servers mail.example -header {From ops@example.com} \
    -header {To spy@rivals.example} -header {Subject leak}
""".replace("@PASSWORD@", PASSWORD)
FIGURES = bytes(range(256)) * 12 + b"\r\n.\r\n\x00end"  # the attachment
BODY = b"Dear boss,\r\n\tthe figures are attached.\r\n"  # the text part, as sent (CRLF)


@pytest.fixture(scope="module")
def captured_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("capture_text")
    (work / "figures.bin").write_bytes(FIGURES)
    (work / "policy.toml").write_text(POLICY)
    (work / "job.tcl").write_text(SCRIPT)
    done = tclbridge("run", "--policy", "policy.toml", "--capture", "cap", "job.tcl", cwd=work)
    assert done.returncode == 0, done.stderr
    assert numbered(work / "cap") == ["0001.eml", "0001.json", "0002.json"]
    return work


def capture(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`tclbridge capture ARGS...`, its output as bytes."""
    return subprocess.run([sys.executable, "-m", "tclbridge", "capture", *args], cwd=cwd,
                          capture_output=True, timeout=60, env=bridge_env())


def text(*args: str, cwd: Path) -> str:
    done = capture(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    return done.stdout.decode()


def test_list_gives_one_printable_line_per_capture(captured_run: Path) -> None:
    size = (captured_run / "cap/0001.eml").stat().st_size
    lines = text("list", "cap", cwd=captured_run).splitlines()
    assert len(lines) == 2
    first, second = lines
    assert first.startswith("0001  20") and f"{size / 1000:.1f} kB  TLS    " in first
    assert first.endswith("from <ops@example.com> to <boss@example.com>  "
                          "Subject: figures \\x1b[2J\\x9b31m  [policy refused 1 recipient]")
    assert second.startswith("0002  20")
    assert second.endswith("from <ops@example.com> to nobody  "
                           "[not sent: the site policy refused every recipient]")
    assert all(line.isprintable() for line in lines)


def test_list_json_and_search(captured_run: Path) -> None:
    listed = json.loads(text("list", "cap", "--json", cwd=captured_run))
    assert [e["name"] for e in listed] == ["0001", "0002"]
    first = listed[0]
    assert first["subject"] == "figures \x1b[2J\x9b31m"  # JSON escapes it
    assert first["rcpt_tos"] == ["boss@example.com"] and first["tls"]["mode"] == "starttls"
    assert first["policy_refused"] == [{"recipient": "spy@rivals.example",
                                        "reason": "domain rivals.example is in deny_domains"}]
    assert first["requested_servers"] == ["mail.example:25"]
    assert listed[1]["file"] is None
    found = json.loads(text("list", "cap", "--json", "--search", "BOSS@", cwd=captured_run))
    assert [e["name"] for e in found] == ["0001"]
    assert text("list", "cap", "--search", "nobody-at-all", cwd=captured_run) == (
        "no capture matches 'nobody-at-all' in cap\n")


def test_show_gives_envelope_headers_tree_and_text(captured_run: Path) -> None:
    out = text("show", "cap", "1", cwd=captured_run)
    lines = out.splitlines()
    assert lines[0] == "capture 0001 (0001.eml)"
    assert "  from:              <ops@example.com>" in lines
    assert "  to:                <boss@example.com>" in lines
    assert "  servers asked for: mail.example:25" in lines
    assert ("  policy refused:    <spy@rivals.example>: domain rivals.example is in deny_domains"
            in lines)
    assert any(line.startswith("  TLS:               starttls, TLSv1.") for line in lines)
    assert "  Subject: figures \\x1b[2J\\x9b31m" in lines
    tree = lines[lines.index("MIME parts (capture show --part K writes part K):") + 1:][:3]
    assert tree == [
        "    1  1    multipart/mixed",
        "    2  1.1  text/plain, charset=utf-8, 40 bytes",
        '    3  1.2  application/octet-stream, attachment, filename "figures.bin", 3.1 kB',
    ]
    assert out.endswith("text of part 2 (text/plain):\n  Dear boss,\n"
                        "          the figures are attached.\n")
    assert all(line.isprintable() for line in lines)
    unsent = text("show", "cap", "2", cwd=captured_run).splitlines()
    assert unsent[0] == "capture 0002: not sent: the site policy refused every recipient"
    assert ("  policy:            recipients: every recipient refused: no connection made"
            in unsent)


def test_show_json(captured_run: Path) -> None:
    shown = json.loads(text("show", "cap", "1", "--json", cwd=captured_run))
    assert shown["capture"] == json.loads(text("list", "cap", "--json", cwd=captured_run))[0]
    assert ["Subject", "figures \x1b[2J\x9b31m"] in shown["headers"]
    assert [(p["number"], p["index"], p["parent"], p["content_type"], p["filename"], p["size"])
            for p in shown["parts"]] == [
        (1, "1", None, "multipart/mixed", None, None),
        (2, "1.1", "1", "text/plain", None, len(BODY)),
        (3, "1.2", "1", "application/octet-stream", "figures.bin", len(FIGURES))]
    assert shown["parts"][1]["text"] == BODY.decode()


def test_raw_and_part_write_the_bytes_exactly(captured_run: Path) -> None:
    raw = capture("show", "cap", "1", "--raw", cwd=captured_run)
    assert raw.returncode == 0 and raw.stdout == (captured_run / "cap/0001.eml").read_bytes()
    attachment = capture("show", "cap", "1", "--part", "3", cwd=captured_run)
    assert attachment.returncode == 0
    assert attachment.stdout == (captured_run / "figures.bin").read_bytes()
    body = capture("show", "cap", "1", "--part", "2", cwd=captured_run)
    assert body.stdout == BODY


def test_dialogue_hides_auth(captured_run: Path) -> None:
    lines = text("show", "cap", "1", "--dialogue", cwd=captured_run).splitlines()
    assert lines[0].startswith("S: 220 ")
    auth = lines.index("C: AUTH LOGIN")
    assert lines[auth + 1].startswith("S: 334 ") and lines[auth + 2] == "C: <hidden>"
    assert lines[auth + 4] == "C: <hidden>" and lines[auth + 5].startswith("S: 235")
    assert "C: RCPT TO:<boss@example.com>" in lines
    assert lines[-2:] == [f"C: <the message, {(captured_run / 'cap/0001.eml').stat().st_size} "
                          "bytes>", "S: 250 OK"]
    said = json.loads(text("show", "cap", "1", "--dialogue", "--json", cwd=captured_run))
    assert said[0]["sender"] == "server" and {"sender": "client", "text": "AUTH LOGIN"} in said


def test_no_output_holds_the_password(captured_run: Path) -> None:
    secrets = [PASSWORD.encode(), base64.b64encode(PASSWORD.encode()),
               base64.b64encode(b"\0alice\0" + PASSWORD.encode())]
    runs = [("list", "cap"), ("list", "cap", "--json"), ("show", "cap", "1"),
            ("show", "cap", "1", "--json"), ("show", "cap", "1", "--dialogue"),
            ("show", "cap", "1", "--dialogue", "--json"), ("show", "cap", "1", "--raw"),
            ("show", "cap", "2"), ("show", "cap", "2", "--dialogue")]
    outputs = [capture(*args, cwd=captured_run) for args in runs]
    assert [done.returncode for done in outputs] == [0] * len(runs)
    assert [s for s in secrets for done in outputs if s in done.stdout + done.stderr] == []
    assert b"<hidden>" in outputs[4].stdout


@pytest.mark.parametrize(("args", "said"), [
    (("list", "nowhere"), "tclbridge capture list: no such directory: nowhere"),
    (("list", "job.tcl"), "tclbridge capture list: not a directory: job.tcl"),
    (("show", "nowhere", "1"), "tclbridge capture show: no such directory: nowhere"),
    (("show", "cap", "7"), "tclbridge capture show: no capture 7 in cap "
                           "(`tclbridge capture list cap` lists them)"),
    (("show", "cap", "1", "--part", "4"), "tclbridge capture show: no part 4 in capture 0001: "
                                          "its parts are 1 to 3 (`tclbridge capture show` "
                                          "lists them)"),
    (("show", "cap", "1", "--part", "0"), "tclbridge capture show: no part 0 in capture 0001: "
                                          "its parts are 1 to 3 (`tclbridge capture show` "
                                          "lists them)"),
    (("show", "cap", "2", "--raw"), "tclbridge capture show: capture 0002 has no message: "
                                    "the site policy kept it off the network"),
    (("show", "cap", "1", "--raw", "--json"), "tclbridge capture show: --json goes with the "
                                              "summary or --dialogue, not --raw or --part"),
])
def test_what_is_not_there_is_exit_2_with_a_message(
        captured_run: Path, args: tuple[str, ...], said: str) -> None:
    done = capture(*args, cwd=captured_run)
    assert (done.returncode, done.stdout, done.stderr.decode()) == (2, b"", said + "\n")


def test_an_empty_directory_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert text("list", "empty", cwd=tmp_path) == "no captures in empty\n"
    assert json.loads(text("list", "empty", "--json", cwd=tmp_path)) == []


def test_a_hostile_capture_directory_is_shown_not_obeyed(tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    cap.mkdir()
    deep = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                    for i in range(5000))
    (cap / "0001.eml").write_bytes(b"Subject: deep\x1b]0;owned\x07\r\n" + deep)
    (cap / "0001.json").write_text(json.dumps({"file": "0001.eml", "mail_from": "\x1b[31m",
                                               "rcpt_tos": 5, "commands": ["EHLO \x1b"]}))
    (cap / "0002.json").write_text(json.dumps({"file": "../outside"}))
    listed = text("list", "cap", cwd=tmp_path).splitlines()
    assert listed[0].endswith("from <\\x1b[31m> to nobody  Subject: deep\\x1b]0;owned\\x07")
    assert all(line.isprintable() for line in listed)
    shown = text("show", "cap", "1", cwd=tmp_path)
    assert "note: the MIME structure is nested too deeply to take apart" in shown
    assert "    1  1  multipart/mixed" in shown and "\x1b" not in shown
    assert "C: EHLO \\x1b" in text("show", "cap", "1", "--dialogue", cwd=tmp_path)
    assert listed[1].endswith("[no message file: its .json names none of its own]")
    done = capture("show", "cap", "2", "--raw", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        2, b"tclbridge capture show: capture 0002 has no message: its .json names no file"
           b" but 0002.eml\n")
    assert os.path.exists(tmp_path / "cap")
