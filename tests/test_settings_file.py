"""The config file (tclbridge/settings_file.py): which file wins, how its
values are read, and that `tclbridge run` obeys it below the environment and
the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge import settings_file
from tclbridge.differential.reference import find_tclsh, tcllib_missing
from tclbridge.settings_file import SettingsFileError
from tests.support.log_runs import log_records, one
from tests.support.recording import scripted_server

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the machine's file, the user's file under $XDG_CONFIG_HOME), neither
    written yet; the machine's is the module constant, pointed into tmp_path."""
    system = tmp_path / "etc" / "tclbridge" / "config.toml"
    user = tmp_path / "xdg" / "tclbridge" / "config.toml"
    system.parent.mkdir(parents=True)
    user.parent.mkdir(parents=True)
    monkeypatch.setattr(settings_file, "SYSTEM_FILE", str(system))
    return system, user


def _environ(tmp_path: Path, **more: str) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home"), **more}


def test_the_user_file_wins_over_the_machines_key_by_key(tmp_path, places) -> None:
    system, user = places
    system.write_text('capture = "/var/cap"\nserver = "relay.example:2525"\n')
    user.write_text('server = "mine.example"\n')
    environ = _environ(tmp_path)
    settings_file.apply(environ)
    assert environ["TCLBRIDGE_CAPTURE"] == "/var/cap"
    assert environ["TCLBRIDGE_SERVER"] == "mine.example"
    assert "TCLBRIDGE_POLICY" not in environ


def test_the_environment_wins_over_both_files_even_empty(tmp_path, places) -> None:
    system, user = places
    system.write_text('capture = "/var/cap"\n')
    user.write_text('server = "mine.example"\npolicy = "/p.toml"\n')
    environ = _environ(tmp_path, TCLBRIDGE_CAPTURE="", TCLBRIDGE_SERVER="env.example")
    settings_file.apply(environ)
    assert environ["TCLBRIDGE_CAPTURE"] == ""  # set empty: no capture, whatever the files say
    assert environ["TCLBRIDGE_SERVER"] == "env.example"
    assert environ["TCLBRIDGE_POLICY"] == "/p.toml"


def test_tclbridge_config_names_the_only_file_read(tmp_path, places) -> None:
    system, user = places
    system.write_text('capture = "/var/cap"\n')
    user.write_text('server = "mine.example"\n')
    named = tmp_path / "named.toml"
    named.write_text('policy = "/named.toml"\n')
    environ = _environ(tmp_path, TCLBRIDGE_CONFIG=str(named))
    settings_file.apply(environ)
    assert {k: v for k, v in environ.items() if k != "TCLBRIDGE_CONFIG"} == {
        **_environ(tmp_path), "TCLBRIDGE_POLICY": "/named.toml"}
    environ = _environ(tmp_path, TCLBRIDGE_CONFIG="")
    settings_file.apply(environ)
    assert environ == _environ(tmp_path, TCLBRIDGE_CONFIG="")


def test_a_relative_path_is_relative_to_the_files_directory(tmp_path, places) -> None:
    _, user = places
    user.write_text('capture = "cap"\npolicy = "~/policy.toml"\n')
    environ = _environ(tmp_path)
    settings_file.apply(environ)
    assert environ["TCLBRIDGE_CAPTURE"] == str(user.parent / "cap")
    assert environ["TCLBRIDGE_POLICY"] == os.path.expanduser("~/policy.toml")


def test_a_relative_xdg_config_home_is_ignored(tmp_path, places) -> None:
    home_file = tmp_path / "home" / ".config" / "tclbridge" / "config.toml"
    home_file.parent.mkdir(parents=True)
    home_file.write_text('server = "home.example"\n')
    environ = {"XDG_CONFIG_HOME": "relative/dir", "HOME": str(tmp_path / "home")}
    settings_file.apply(environ)
    assert environ["TCLBRIDGE_SERVER"] == "home.example"


@pytest.mark.parametrize(("text", "said"), [
    ('capture = "/c"\nlog_level = 3\n',
     "unknown key 'log_level' (known: capture, log, policy, server, syslog)"),
    ("capture = 5\n", "capture = 5: expected a path (a non-empty string)"),
    ('capture = ""\n', "capture = '': expected a path (a non-empty string)"),
    ('policy = ["a"]\n', "policy = ['a']: expected a path"),
    ("server = 25\n", "server = 25: expected a string, HOST[:PORT]"),
    ('server = "h:99999"\n', "server = 'h:99999': bad port in 'h:99999': not between 1 and 65535"),
    ('server = ":25"\n', "server = ':25': expected a string, HOST[:PORT]"),
    ("[capture]\ndir = 1\n", "capture = {'dir': 1}: expected a path"),
    ("capture = \n", "not valid TOML"),
    ('capture = "a\\u0000b"\n', "capture = 'a\\x00b': contains a NUL character"),
    ('server = "h\\u0000x:25"\n', "contains a NUL character"),
])
def test_a_file_that_cannot_be_used_is_a_clear_error(tmp_path, places, text, said) -> None:
    _, user = places
    user.write_text(text)
    with pytest.raises(SettingsFileError) as caught:
        settings_file.apply(_environ(tmp_path))
    assert str(caught.value).startswith(f"config file {user}: ")
    assert said in str(caught.value)


def test_a_named_file_must_exist_the_usual_ones_need_not(tmp_path, places) -> None:
    environ = _environ(tmp_path)
    settings_file.apply(environ)  # neither place has a file
    assert environ == _environ(tmp_path)
    missing = tmp_path / "missing.toml"
    with pytest.raises(SettingsFileError, match="cannot read it: No such file or directory"):
        settings_file.apply(_environ(tmp_path, TCLBRIDGE_CONFIG=str(missing)))
    with pytest.raises(SettingsFileError, match="cannot read it: Is a directory"):
        settings_file.apply(_environ(tmp_path, TCLBRIDGE_CONFIG=str(tmp_path)))


# -- `tclbridge run` obeys it -----------------------------------------------------

SEND = r"""
package require smtp
set tok [mime::initialize -canonical text/plain -string "hello\n"]
smtp::sendmessage $tok -servers mail.example.invalid -originator a@example.com \
    -recipients b@example.com -header {Subject precedence}
puts sent
"""


def _run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`tclbridge run` with the user's config file under cwd/xdg (and none
    named by TCLBRIDGE_CONFIG, so the usual places are read)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TCLBRIDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", *args], capture_output=True, text=True,
        timeout=60, cwd=cwd,
        env={**environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(cwd / "xdg"), **env})


def test_run_sends_where_the_command_line_then_environment_then_file_say(tmp_path) -> None:
    (tmp_path / "send.tcl").write_text(SEND)
    user = tmp_path / "xdg" / "tclbridge" / "config.toml"
    user.parent.mkdir(parents=True)
    with scripted_server() as by_file, scripted_server() as by_env, \
            scripted_server() as by_option:
        user.write_text(f'server = "127.0.0.1:{by_file.port}"\n')
        plain = _run("send.tcl", cwd=tmp_path)
        env = _run("send.tcl", cwd=tmp_path, TCLBRIDGE_SERVER=f"127.0.0.1:{by_env.port}")
        option = _run("--server", f"127.0.0.1:{by_option.port}", "send.tcl", cwd=tmp_path,
                      TCLBRIDGE_SERVER=f"127.0.0.1:{by_env.port}")
        for done in (plain, env, option):
            assert (done.returncode, done.stdout) == (0, "sent\n"), done.stderr
        assert [len(s.messages) for s in (by_file, by_env, by_option)] == [1, 1, 1]


def test_run_refuses_a_bad_file_before_the_script_runs(tmp_path) -> None:
    (tmp_path / "hi.tcl").write_text("puts ran\n")
    user = tmp_path / "xdg" / "tclbridge" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('sever = "typo.example"\n')
    done = _run("hi.tcl", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"tclbridge: config file {user}: unknown key 'sever' "
                           "(known: capture, log, policy, server, syslog)\n")


@pytest.mark.parametrize("value", ["h:0", "h:x", ":25"])
def test_a_tclbridge_server_that_cannot_work_is_refused(tmp_path, value: str) -> None:
    (tmp_path / "hi.tcl").write_text("puts ran\n")
    done = _run("hi.tcl", cwd=tmp_path, TCLBRIDGE_SERVER=value)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"tclbridge: TCLBRIDGE_SERVER={value}: ")
    assert done.stderr.count("\n") == 1


def test_a_capture_directory_from_the_file_is_named_with_the_file(tmp_path) -> None:
    (tmp_path / "hi.tcl").write_text("puts ran\n")
    (tmp_path / "taken").write_text("a file, not a directory\n")
    user = tmp_path / "xdg" / "tclbridge" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text(f'capture = "{tmp_path / "taken"}"\n')
    done = _run("hi.tcl", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"tclbridge: capture = '{tmp_path / 'taken'}' (config file {user}): "
                           "not a directory\n")
    done = _run("hi.tcl", cwd=tmp_path, TCLBRIDGE_CAPTURE=str(tmp_path / "taken"))
    assert done.stderr == f"tclbridge: TCLBRIDGE_CAPTURE={tmp_path / 'taken'}: not a directory\n"


@pytest.mark.skipif(tcllib_missing(find_tclsh()) is not None, reason="needs tclsh + tcllib")
def test_check_runs_without_the_config_files_settings(tmp_path) -> None:
    (tmp_path / "send.tcl").write_text(SEND)
    user = tmp_path / "xdg" / "tclbridge" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('capture = "captured"\n')
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TCLBRIDGE_")}
    done = subprocess.run(
        [sys.executable, "-m", "tclbridge", "check", "send.tcl"], capture_output=True,
        text=True, timeout=120, cwd=tmp_path,
        env={**environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list((user.parent / "captured").glob("*.eml"))


def test_the_files_log_and_syslog_keys_set_the_delivery_log(tmp_path) -> None:
    (tmp_path / "send.tcl").write_text(SEND)
    user = tmp_path / "xdg" / "tclbridge" / "config.toml"
    user.parent.mkdir(parents=True)
    by_file = user.parent / "deliveries.log"  # relative to the file's directory
    by_env = tmp_path / "env.log"
    with scripted_server() as server:
        user.write_text(f'server = "127.0.0.1:{server.port}"\nlog = "deliveries.log"\n')
        done = _run("send.tcl", cwd=tmp_path)
        assert (done.returncode, done.stdout) == (0, "sent\n"), done.stderr
        done = _run("send.tcl", cwd=tmp_path, TCLBRIDGE_LOG=str(by_env))
        assert (done.returncode, done.stdout) == (0, "sent\n"), done.stderr
    assert [one(r, "outcome") for r in log_records(by_file)] == ["sent"]
    assert [one(r, "outcome") for r in log_records(by_env)] == ["sent"]
    # A syslog the file asks for but that cannot be reached: the message names the file.
    missing = str(tmp_path / "no-syslog.sock")
    user.write_text("syslog = true\n")
    done = _run("send.tcl", cwd=tmp_path, TCLBRIDGE_SYSLOG_SOCKET=missing)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(
        f"tclbridge: syslog = '1' (config file {user}): cannot connect to {missing}: ")
