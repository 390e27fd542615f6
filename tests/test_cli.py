"""`tclbridge run` behaves like tclsh."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.recording import scripted_server

REPO = Path(__file__).resolve().parent.parent


def bridge(
    *args: str, cwd: Path | None = None, timeout: float = 60, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", *args],
        capture_output=True, timeout=timeout, cwd=cwd, text=env is None,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(REPO)},
    )


def tclsh(
    *args: str, cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["tclsh", *args], capture_output=True, timeout=60, cwd=cwd, text=env is None, env=env
    )


SCRIPTS = {
    "args": 'puts "$argv0|$argc|$argv|[llength $argv]"\nputs [info script]\n',
    "exit": "puts -nonewline partial\nexit 3\nputs never\n",
    "exit0": "puts hi\nexit\n",
    "error": "proc f {x} {error \"boom $x\"}\nputs before\nf 1\nputs after\n",
    "stderr": "puts stderr {to stderr}\nputs {to stdout}\n",
    "vwait": "after 50 {set ::done 1}\nvwait ::done\nputs done\nafter 20 {exit 4}\nvwait forever\n",
    "catch-exit": "catch {exit 5}\nputs never\n",
    "bad-exit": "exit notanumber\n",
    "hex-exit": "puts hi\nexit 0x10\nputs never\n",  # any integer form Tcl reads: status 16
}


@pytest.mark.parametrize("name", [*sorted(SCRIPTS), "missing"])
def test_run_matches_tclsh(tmp_path: Path, name: str) -> None:
    script = tmp_path / f"{name}.tcl"
    if name in SCRIPTS:
        script.write_text(SCRIPTS[name])
    args = [script.name, "a b", "c"]
    ours, theirs = bridge(*args, cwd=tmp_path), tclsh(*args, cwd=tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode, theirs.stdout, theirs.stderr
    )


@pytest.mark.parametrize(
    "locale", [{}, {"LANG": "C.UTF-8"}, {"LC_ALL": "C"}, {"LC_CTYPE": "C.UTF-8"}]
)
def test_encoding_matches_tclsh(tmp_path: Path, locale: dict) -> None:
    """cron runs scripts with hardly any environment: the C locale."""
    script = tmp_path / "enc.tcl"
    script.write_bytes(
        "puts [encoding system]\nputs \"caf\u00e9 \\u20ac\"\nputs [string length \"\u00e9\"]\n"
        .encode()
    )
    env = {"PATH": os.environ["PATH"], **locale}
    ours = bridge(script.name, cwd=tmp_path, env=env)
    theirs = tclsh(script.name, cwd=tmp_path, env=env)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode, theirs.stdout, theirs.stderr
    )


def test_manual_example_through_capture(tmp_path: Path) -> None:
    out = bridge("--capture", str(tmp_path / "cap"), str(REPO / "examples/send_simple_message.tcl"))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "sent\n"
    eml = (tmp_path / "cap/0001.eml").read_bytes()
    assert b"Subject: This is the subject." in eml
    assert eml.endswith(b"This is the message.\r\n")
    record = json.loads((tmp_path / "cap/0001.json").read_text())
    assert record["rcpt_tos"] == ["someone@somewhere.com"]
    assert "0001.eml" in out.stderr and "someone@somewhere.com" in out.stderr


def test_capture_summary_after_exit(tmp_path: Path) -> None:
    script = tmp_path / "s.tcl"
    script.write_text(
        "package require smtp\n"
        "set t [mime::initialize -canonical text/plain -string hi]\n"
        "smtp::sendmessage $t -servers mail.example.invalid -header {To a@x.y}\n"
        "smtp::sendmessage $t -servers mail.example.invalid -header {To b@x.y}\n"
        "exit 2\n"
    )
    out = bridge("--capture", str(tmp_path / "cap"), str(script))
    assert out.returncode == 2
    assert sorted(p.name for p in (tmp_path / "cap").iterdir()) == [
        "0001.eml", "0001.json", "0002.eml", "0002.json"
    ]
    assert len([ln for ln in out.stderr.splitlines() if ln.startswith("captured ")]) == 2
    assert out.stderr.endswith(f"tclbridge: 2 messages captured in {tmp_path / 'cap'}\n")


def test_server_option_redirects(tmp_path: Path) -> None:
    script = tmp_path / "s.tcl"
    script.write_text(
        "package require smtp\n"
        "set t [mime::initialize -canonical text/plain -string hi]\n"
        "puts [smtp::sendmessage $t -servers mail.example.invalid -ports 2525"
        " -header {To a@x.y}]\n"
    )
    with scripted_server() as srv:
        out = bridge("--server", f"127.0.0.1:{srv.port}", str(script))
        assert out.returncode == 0, out.stderr
        assert srv.messages[0].rcpt_tos == ["a@x.y"]


@pytest.mark.parametrize("script", ["vwait forever\n", "after 5000 {set x 1}; vwait x\n"])
def test_ctrl_c_ends_the_script_like_tclsh(tmp_path: Path, script: str) -> None:
    path = tmp_path / "wait.tcl"
    path.write_text("puts ready; flush stdout\n" + script)
    codes = []
    for command in (
        [sys.executable, "-m", "tclbridge", "run", str(path)],
        ["tclsh", str(path)],
    ):
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        codes.append(proc.wait(10))
    assert codes == [-signal.SIGINT, -signal.SIGINT]


@pytest.mark.parametrize("locale", [{}, {"LC_ALL": "C"}, {"LANG": "C.UTF-8"}])
def test_sent_body_bytes_match_tclsh_in_locale(tmp_path: Path, locale: dict) -> None:
    """tcllib builds the message in Tcl's system encoding: under cron's C
    locale a non-ASCII body goes out as iso8859-1, not UTF-8."""
    script = tmp_path / "send.tcl"
    script.write_text(
        "package require smtp\n"
        "set t [mime::initialize -canonical text/plain -encoding 8bit"
        " -string \"caf\\u00e9 \\u20ac\\n\"]\n"
        "smtp::sendmessage $t -servers 127.0.0.1 -ports [lindex $argv 0]"
        " -header {To a@x.y} -header {From b@x.y}\n"
    )
    env = {"PATH": os.environ["PATH"], **locale}
    bodies = []
    for run in (bridge, tclsh):
        with scripted_server() as srv:
            out = run(script.name, str(srv.port), cwd=tmp_path, env=env)
            assert out.returncode == 0, out.stderr
            bodies.append(srv.messages[0].content.split(b"\r\n\r\n", 1)[1])
    assert bodies[0] == bodies[1]


def test_no_secret_in_any_output_or_capture_file(tmp_path: Path) -> None:
    password = "Tr0ub4dor&3"
    secrets = [password, base64.b64encode(password.encode()).decode(),
               base64.b64encode(b"\0me\0" + password.encode()).decode()]
    script = tmp_path / "s.tcl"
    script.write_text(
        "package require smtp\n"
        "set t [mime::initialize -canonical text/plain -string hi]\n"
        "puts [smtp::sendmessage $t -servers mail.example.com -debug 1"
        f" -username me -password {{{password}}} -header {{To a@x.y}}]\n"
    )
    out = bridge("--capture", str(tmp_path / "cap"), str(script))
    assert out.returncode == 0, out.stderr
    assert "--> <hidden>" in out.stderr
    texts = [out.stdout, out.stderr] + [p.read_text() for p in (tmp_path / "cap").iterdir()]
    assert any("<hidden>" in t for t in texts[2:])
    for secret in secrets:
        assert all(secret not in text for text in texts)


def test_a_subcommand_failing_inside_gives_no_traceback(tmp_path) -> None:
    # A fault injected into `tclbridge scan` (nothing real makes it fail).
    code = (
        "import tclbridge.scan, tclbridge.cli\n"
        "def broken(opts):\n    raise KeyError('injected')\n"
        "tclbridge.scan.main = broken\n"
        f"tclbridge.cli.main(['scan', {str(tmp_path)!r}])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 70
    assert proc.stderr == "tclbridge: internal error: KeyError: 'injected'\n"


def test_python_called_by_the_script_sends_under_the_same_settings(tmp_path) -> None:
    # --capture (like --server and --policy) must hold for mail that the
    # script's Python helpers send through tclbridge.smtp.sendmessage.
    from tests.support.hermetic import outside_server

    (tmp_path / "helper.py").write_text(
        "from email.message import EmailMessage\n"
        "from tclbridge.smtp import sendmessage\n"
        "def send(port):\n"
        "    msg = EmailMessage()\n"
        "    msg['From'], msg['To'], msg['Subject'] = 'me@example.com', 'you@example.com', 's'\n"
        "    msg.set_content('hi')\n"
        "    return sendmessage(msg, servers=['127.0.0.1'], ports=[int(port)])\n"
    )
    script = tmp_path / "mixed.tcl"
    script.write_text("puts sent:[tclbridge::call helper.send [lindex $argv 0]]\n")
    with outside_server() as elsewhere:
        proc = bridge("--capture", str(tmp_path / "cap"), str(script), str(elsewhere.port))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "sent:\n"
    assert elsewhere.sessions == []
    assert sorted(p.name for p in (tmp_path / "cap").iterdir()) == ["0001.eml", "0001.json"]


@pytest.mark.parametrize("value", ["inf", "-1", "nan", "0", "abc"])
def test_a_timeout_scale_that_cannot_work_is_refused(value: str) -> None:
    proc = bridge("x.tcl", env={**os.environ, "TCLBRIDGE_TIMEOUT_SCALE": value})
    assert proc.returncode == 2
    assert proc.stderr == (f"tclbridge: TCLBRIDGE_TIMEOUT_SCALE must be a number greater than 0,"
                           f" not {value!r}\n").encode()


def test_a_port_out_of_range_is_refused() -> None:
    proc = bridge("--server", "h:99999", "x.tcl")
    assert proc.returncode == 2
    assert "not between 1 and 65535" in proc.stderr


def test_a_closed_pipe_ends_a_subcommand_quietly() -> None:
    # `tclbridge scan DIR | head -1`: the reader goes away early.
    proc = subprocess.run(
        f"{sys.executable} -m tclbridge scan {REPO / 'compat_suite'} | head -1; "
        "echo status=${PIPESTATUS[0]}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout.splitlines()[-1] == "status=141"
    assert proc.stderr == ""


def test_nameofexecutable_is_the_python_running_the_bridge(tmp_path: Path) -> None:
    # COMPAT nameofexecutable: documented, and flagged by `tclbridge scan`.
    script = tmp_path / "noe.tcl"
    script.write_text("puts [info nameofexecutable]\n")
    proc = bridge(str(script))
    assert proc.returncode == 0
    assert os.path.realpath(proc.stdout.strip()) == os.path.realpath(sys.executable)


# -- no silent loss of capture (issue 12, point 3) ---------------------------------


def _one_line_error(proc: subprocess.CompletedProcess, text: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == f"tclbridge: {text}\n"


def test_capture_into_an_empty_name_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "s.tcl").write_text("puts ran\n")
    proc = bridge("--capture", "", "s.tcl", cwd=tmp_path)
    _one_line_error(proc, "--capture needs a directory name, not an empty string")


def test_capture_into_a_regular_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "s.tcl").write_text("puts ran\n")
    (tmp_path / "taken").write_text("a file")
    _one_line_error(bridge("--capture", "taken", "s.tcl", cwd=tmp_path),
                    "--capture taken: not a directory")
    _one_line_error(bridge("--capture", "taken/sub", "s.tcl", cwd=tmp_path),
                    "--capture taken/sub: cannot create the directory: Not a directory")
    assert (tmp_path / "taken").read_text() == "a file"


def test_capture_into_a_directory_that_cannot_be_made_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "s.tcl").write_text("puts ran\n")
    _one_line_error(bridge("--capture", "/proc/tclbridge-capture", "s.tcl", cwd=tmp_path),
                    "--capture /proc/tclbridge-capture: cannot create the directory: "
                    "No such file or directory")


def test_capture_into_a_directory_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    # It exists, and even root's os.access says yes; a file cannot be made.
    (tmp_path / "s.tcl").write_text("puts ran\n")
    proc = bridge("--capture", "/proc/self", "s.tcl", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(
        "tclbridge: --capture /proc/self: the directory is not writable: ")
    assert proc.stderr.count("\n") == 1


def test_a_cafile_that_cannot_be_read_is_an_error_at_start(tmp_path: Path) -> None:
    (tmp_path / "s.tcl").write_text("puts ran\n")
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    _one_line_error(bridge("--cafile", "missing.pem", "s.tcl", cwd=tmp_path),
                    "--cafile missing.pem: cannot read it: No such file or directory")
    _one_line_error(bridge("--cafile", str(tmp_path), "s.tcl", cwd=tmp_path),
                    f"--cafile {tmp_path}: cannot read it: Is a directory")
    proc = bridge("--cafile", "junk.pem", "s.tcl", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("tclbridge: --cafile junk.pem: not a PEM certificate: ")
    assert proc.stderr.count("\n") == 1
    env = {**os.environ, "TCLBRIDGE_CAFILE": str(tmp_path / "gone.pem")}
    _one_line_error(_text(bridge("s.tcl", cwd=tmp_path, env=env)),
                    f"TCLBRIDGE_CAFILE {tmp_path / 'gone.pem'}: cannot read it: "
                    "No such file or directory")


def _text(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """`bridge(env=...)` gives bytes; the same process with text output."""
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


def test_a_bridge_option_after_the_script_goes_to_the_script_with_a_warning(
        tmp_path: Path) -> None:
    (tmp_path / "s.tcl").write_text("puts $argv\n")
    proc = bridge("s.tcl", "--capture", "cap", "x", "--server=h:25", "--capture-max-size", "9",
                  cwd=tmp_path)
    assert proc.returncode == 0
    # as tclsh would pass them
    assert proc.stdout == "--capture cap x --server=h:25 --capture-max-size 9\n"
    assert proc.stderr == ("tclbridge: warning: --capture --server=h:25 --capture-max-size after "
                           "the script name goes to the script; put bridge options before it\n")
    assert not (tmp_path / "cap").exists()
    assert tclsh("s.tcl", "--capture", "cap", "x", "--server=h:25", "--capture-max-size", "9",
                 cwd=tmp_path).stdout == proc.stdout


def test_tclbridge_capture_naming_a_file_is_the_same_error(tmp_path: Path) -> None:
    (tmp_path / "s.tcl").write_text("puts ran\n")
    (tmp_path / "taken").write_text("a file")
    env = {**os.environ, "TCLBRIDGE_CAPTURE": "taken"}
    _one_line_error(_text(bridge("s.tcl", cwd=tmp_path, env=env)),
                    "TCLBRIDGE_CAPTURE=taken: not a directory")
