"""tclbridge-tclsh against the real tclsh: the same words on the command
line (`tclsh` on PATH is the drop-in, or Debian's), the same stdout, stderr
and exit status; the prompt on a terminal; a cron job's mail captured."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tclbridge.differential.reference import find_tclsh
from tests.support.pty_session import PtySession
from tests.support.recording import scripted_server
from tests.support.tclsh_dropin import path_with, tclsh_directory

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="needs Debian's tclsh")


@pytest.fixture(scope="module")
def drop_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding `tclsh`, the drop-in."""
    return tclsh_directory(tmp_path_factory.mktemp("dropin"))


def _env(bin_dir: Path | None, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCLBRIDGE_")}
    return {**env, "PATH": path_with(bin_dir), "TCLBRIDGE_CONFIG": "", **more}


def both(args: list[str], cwd: Path, drop_in: Path, stdin: bytes = b"",
         **env: str) -> tuple[tuple, tuple]:
    """(drop-in, tclsh): each `tclsh ARGS` run's (exit status, stdout, stderr)."""
    runs = []
    for bin_dir in (drop_in, None):
        done = subprocess.run(args, input=stdin, capture_output=True, timeout=60, cwd=cwd,
                              env=_env(bin_dir, **env))
        runs.append((done.returncode, done.stdout.decode(errors="surrogateescape"),
                     done.stderr.decode(errors="surrogateescape")))
    return runs[0], runs[1]


# Plain Tcl, no smtp or mime: each runs as `tclsh NAME.tcl a {b c}`.
SCRIPTS = {
    "file-io": r"""
set f [open data.txt w]
puts $f "line one"
puts -nonewline $f two
close $f
set f [open data.txt a]
puts $f "\nthree"
close $f
set f [open data.txt r]
set lines [split [read -nonewline $f] \n]
close $f
puts [llength $lines]|[lindex $lines end]|[file size data.txt]
set f [open bin.dat wb]
puts -nonewline $f [binary format c* {0 -1 13 10 65}]
close $f
set f [open bin.dat rb]
binary scan [read $f] c* bytes
close $f
puts "$bytes [file size bin.dat]"
file rename data.txt moved.txt
puts [lsort [glob *.txt *.dat]] ;# (no .tcl: the name of this script is in the list)
file delete moved.txt bin.dat
puts [file exists moved.txt]
""",
    "exec": r"""
puts [exec echo hello world]
puts [exec printf "b\na\n" | sort]
set env(DROPIN_TEST) from-tcl
puts [exec sh -c {echo $DROPIN_TEST}]
if {[catch {exec sh -c {echo oops >&2; exit 3}} message options]} {
    set code [dict get $options -errorcode]
    puts "$message|[lindex $code 0]|[lindex $code 2]"
}
catch {exec no-such-program-here} message
puts $message
""",
    "after-vwait": r"""
after 30 {lappend ::order 30}
after 10 {lappend ::order 10}
after idle {lappend ::order idle}
set id [after 20 {lappend ::order cancelled}]
after cancel $id
after 50 {set ::done 1}
vwait ::done
puts $::order
after 10 {after 10 {set ::again nested}}
vwait ::again
puts $::again
""",
    "fileevent": r"""
set pipe [open "|cat" r+]
fconfigure $pipe -buffering line -blocking 0
proc got {chan} {
    if {[gets $chan line] >= 0} {
        lappend ::lines $line
        if {[llength $::lines] == 2} { set ::done 1 }
    }
}
fileevent $pipe readable [list got $pipe]
puts $pipe one
puts $pipe two
vwait ::done
close $pipe
puts $::lines
proc accept {chan host port} {
    fconfigure $chan -buffering line
    fileevent $chan readable [list echo $chan]
}
proc echo {chan} {
    if {[gets $chan line] < 0} { close $chan; return }
    puts $chan "echo: $line"
}
set server [socket -server accept -myaddr 127.0.0.1 0]
set client [socket 127.0.0.1 [lindex [fconfigure $server -sockname] 2]]
fconfigure $client -buffering line
fileevent $client readable {set ::reply [gets $client]}
puts $client hello
vwait ::reply
puts $::reply
close $client
close $server
""",
    "namespaces": r"""
namespace eval ::counter {
    variable n 0
    proc next {} { variable n; incr n }
    namespace export next
    namespace ensemble create
}
counter next
puts [counter next]
namespace eval ::other {
    namespace import ::counter::next
    puts [next]
}
proc bump {name} { upvar 1 $name v; incr v 10 }
set x 1
bump x
puts $x
proc here {} { uplevel 1 {set fromup yes} }
here
puts $fromup
trace add variable ::watched write {apply {{n1 n2 op} {puts "trace $n1 $op"}}}
set ::watched 1
puts [namespace qualifiers ::counter::next]|[namespace tail ::counter::next]
puts [lsort [info procs ::counter::*]]
catch {counter nope} message
puts $message
""",
    "info-script": r"""
puts [info script]
puts "$argv0|$argc|$argv|[llength $argv]"
puts [file tail [info nameofexecutable]]
puts $tcl_interactive
source [file join [file dirname [info script]] lib.tcl]
puts [info script]
""",
    "child": r"""
puts [exec [info nameofexecutable] [file join [file dirname [info script]] lib.tcl] x y]
""",
    "exit": "puts -nonewline partial\nafter 10 {proc leave {} {exit 7}; leave}\nvwait forever\n",
    "error": 'proc inner {x} {error "boom $x"}\nproc outer {} {inner 1}\nputs before\nouter\n',
    "error-in-source": "source [file join [file dirname [info script]] bad.tcl]\nputs never\n",
    "stdin": 'puts [gets stdin]|[read stdin]\n',
}

LIB = 'puts "lib: [info script]|$argv"\n'
BAD = "set x 1\nerror {in bad.tcl}\n"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_a_plain_script_runs_as_under_tclsh(tmp_path: Path, drop_in: Path, name: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / f"{name}.tcl").write_text(SCRIPTS[name])
    (tmp_path / "sub" / "lib.tcl").write_text(LIB)
    (tmp_path / "sub" / "bad.tcl").write_text(BAD)
    ours, theirs = both(["tclsh", f"sub/{name}.tcl", "a", "b c"], tmp_path / ".", drop_in,
                        stdin=b"first line\nthe rest\n")
    assert ours == theirs
    assert theirs[0] != 0 or theirs[1]  # each script shows something


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_an_uncaught_error_is_written_as_tclsh_writes_it(tmp_path: Path, drop_in: Path,
                                                         locale: str) -> None:
    # ED A0 80: U+D800 to Tcl, which Python's stderr would write as "\\udced".
    (tmp_path / "bytes.tcl").write_bytes(b'proc f {} {error "a\xed\xa0\x80b \xc3\xa9"}\nf\n')
    ours, theirs = both(["tclsh", "bytes.tcl"], tmp_path, drop_in, LANG=locale)
    assert ours == theirs
    assert theirs[0] == 1 and theirs[2].startswith("a\udced\udca0\udc80b ")


def test_every_word_after_the_script_is_the_scripts(tmp_path: Path, drop_in: Path) -> None:
    (tmp_path / "args.tcl").write_text('puts $argv\n')
    args = ["tclsh", "args.tcl", "--capture", "x", "--server=y", "-encoding", "z", "--", "-h"]
    ours, theirs = both(args, tmp_path, drop_in)
    assert ours == theirs == (0, "--capture x --server=y -encoding z -- -h\n", "")


def test_encoding_option_reads_the_script_so(tmp_path: Path, drop_in: Path) -> None:
    (tmp_path / "latin.tcl").write_bytes(b'puts [string length "caf\xe9"]|$argv0|$argv\n')
    ours, theirs = both(["tclsh", "-encoding", "iso8859-1", "latin.tcl", "q"], tmp_path, drop_in)
    assert ours == theirs == (0, "4|latin.tcl|q\n", "")
    ours, theirs = both(["tclsh", "-encoding", "bogus", "latin.tcl"], tmp_path, drop_in)
    assert ours == theirs == (1, "", 'unknown encoding "bogus"\n')


def test_a_missing_script_fails_as_under_tclsh(tmp_path: Path, drop_in: Path) -> None:
    ours, theirs = both(["tclsh", "nowhere.tcl"], tmp_path, drop_in)
    assert ours == theirs
    assert theirs[0] == 1


def test_a_shebang_script_runs_unchanged(tmp_path: Path, drop_in: Path) -> None:
    job = tmp_path / "job.tcl"
    job.write_text('#!/usr/bin/env tclsh\nputs "[file tail [info nameofexecutable]] $argv"\n'
                   "exit 5\n")
    job.chmod(0o755)
    ours, theirs = both([str(job), "one"], tmp_path, drop_in)
    assert ours == theirs == (5, "tclsh one\n", "")


# Read from stdin (not a terminal): no prompt, no results, an error's message
# and on to the next command; `tclsh - a b` gives every word to $argv.
STDIN_SCRIPT = r"""puts [list [file tail $argv0] [info script] $argc $argv $tcl_interactive]
puts [file tail [info nameofexecutable]]
puts "a;b"; error boom; puts "not after an error"
set x 5
return foo
puts after-return
break
continue
return -code 5 five
return -code error rce
proc p {} {error inproc}
p
puts [string trim $errorInfo]
if {1} {
    puts multi-line
}
set tcl_interactive 1
set y 6
set tcl_interactive 0
puts [gets stdin]
a line the script reads itself
puts [lindex [history info 1] 1]
if {[catch {exit 4}]} {
"""


@pytest.mark.parametrize("args", [[], ["-"], ["-", "a", "b c"], ["-x", "y"],
                                  ["-encoding", "utf-8"]])
def test_commands_from_stdin_run_as_under_tclsh(tmp_path: Path, drop_in: Path,
                                                args: list[str]) -> None:
    ours, theirs = both(["tclsh", *args], tmp_path, drop_in, stdin=STDIN_SCRIPT.encode())
    assert ours == theirs
    assert theirs[0] == 0 and "multi-line" in theirs[1] and "inproc" in theirs[1]


# What tclsh's top level makes of each return code, errorInfo and errorCode
# included (the last command is cut at 150 characters in errorInfo).
STDIN_CODES = r"""return -code error rce
puts "1 <$errorCode>"
break
puts "2 <$errorInfo> <$errorCode>"
return -code error -errorcode {A B} -errorinfo custom x
puts "3 <$errorInfo> <$errorCode>"
return -level 2 -code error y
puts "4 <$errorInfo> <$errorCode>"
return -code 0 fine
return -code break
proc p {} {return -code break}
p
puts "5 <$errorInfo>"
puts [info level]
proc q {} {uplevel 1 {set up 1}; upvar 1 up u; return $u}
puts [q]
return -code continue
return -code 7 seven
puts "6 <$errorInfo> <$errorCode>"
proc r {} {error inner}
r
puts "7 <$errorInfo>"
set s {""" + "x" * 200 + r"""}; break
puts "8 <$errorInfo>"
set tcl_interactive 1
return -code return
list a {b c}
"""


def test_return_codes_at_the_top_level_are_tclshs(tmp_path: Path, drop_in: Path) -> None:
    ours, theirs = both(["tclsh"], tmp_path, drop_in, stdin=STDIN_CODES.encode())
    assert ours == theirs
    assert "<A B>" in theirs[1] and "x" * 140 + '..."' in theirs[1]


def test_stdin_with_bytes_python_cannot_pass_runs_as_under_tclsh(tmp_path: Path,
                                                                drop_in: Path) -> None:
    # Tcl reads ED A0 80 as the lone surrogate U+D800, which no Python str
    # can hand back to Tcl; \xff is not UTF-8 at all.
    commands = (b'set x "\xed\xa0\x80y\xff"\nputs [string length $x]\nerror "$x"\n'
                b'set tcl_interactive 1\nset x\nset tcl_prompt1 {puts -nonewline "$x> "}\n'
                b"puts done\n")
    ours, theirs = both(["tclsh"], tmp_path, drop_in, stdin=commands, LANG="C.UTF-8")
    assert ours == theirs
    assert theirs[1].startswith("3\n")


def test_a_nul_in_a_command_from_stdin_runs_as_under_tclsh(tmp_path: Path,
                                                           drop_in: Path) -> None:
    commands = (b'puts [string length "a\0b"]\nset x "c\0d"\nerror "e\0f"\n'
                b'puts [string map {\0 NUL} $x]\nset tcl_interactive 1\nlist "g\0h" i\n')
    ours, theirs = both(["tclsh"], tmp_path, drop_in, stdin=commands)
    assert ours == theirs == (0, "3\ncNULd\n1\n% g\0h i\n% ", "e\0f\n")


@pytest.mark.parametrize("tail", ["exit 4\nputs never\n", "close stdin\nputs never\n",
                                  "if {1} {\n  puts incomplete\n"])
def test_stdin_ends_as_under_tclsh(tmp_path: Path, drop_in: Path, tail: str) -> None:
    ours, theirs = both(["tclsh"], tmp_path, drop_in, stdin=f"puts hi\n{tail}".encode())
    assert ours == theirs
    assert theirs[1] == "hi\n"


# -- the prompt, on a terminal -------------------------------------------------------

# (what is typed, what the transcript then ends with)
TYPED = [
    (b"set x 5\n", b"% "),
    (b"puts [list $tcl_interactive [file tail $argv0] [info script] $argv]\n", b"% "),
    (b"if {1} {\n", b"if {1} {\r\n"),
    (b"    puts multi\n", b"puts multi\r\n"),
    (b"}\n", b"% "),
    (b"error boom\n", b"% "),
    (b"set y {}\n", b"% "),
    (b"return -code 5 x\n", b"% "),
    (b"break\n", b"% "),
    (b"proc p {} {error inner}; p\n", b"% "),
    (b"puts $errorInfo\n", b"% "),
    (b"history\n", b"% "),
    (b"set tcl_prompt1 {puts -nonewline {tcl> }}\n", b"tcl> "),
    (b"gets stdin line\n", b"gets stdin line\r\n"),
    (b"typed by hand\n", b"tcl> "),
    (b"string toupper $line\n", b"tcl> "),
    (b"set tcl_prompt1 {error {bad prompt}}\n", b"% "),
    (b"info exists tcl_rcFileName\n", b"% "),
]


def _session(bin_dir: Path | None, cwd: Path, home: Path, typed: list[tuple[bytes, bytes]],
             end: bytes, **env: str) -> tuple[bytes, int]:
    """Type each line, wait for what follows it (None: let 0.3 s pass)."""
    environ = _env(bin_dir, HOME=str(home), TERM="dumb", **env)
    with PtySession(["tclsh"], environ, cwd) as session:
        session.expect(b"% ")
        for data, then in typed:
            if then is None:
                time.sleep(0.3)
                continue
            session.send(data, then)
        status = session.finish(end)
        return session.transcript, status


def test_the_prompt_on_a_terminal_is_tclshs(tmp_path: Path, drop_in: Path) -> None:
    ours = _session(drop_in, tmp_path, tmp_path, TYPED, b"exit 3\n")
    theirs = _session(None, tmp_path, tmp_path, TYPED, b"exit 3\n")
    assert ours == theirs
    assert theirs[1] == 3 and b"multi\r" in theirs[0] and b"TYPED BY HAND" in theirs[0]


def test_the_start_up_file_and_the_end_of_input_on_a_terminal(tmp_path: Path,
                                                              drop_in: Path) -> None:
    (tmp_path / ".tclshrc").write_text('proc hello {} {return "hello from rc"}\n'
                                       "puts {rc ran}\n")
    typed = [(b"hello\n", b"% ")]
    ours = _session(drop_in, tmp_path, tmp_path, typed, b"\x04")
    theirs = _session(None, tmp_path, tmp_path, typed, b"\x04")
    assert ours == theirs
    assert theirs[1] == 0 and b"rc ran" in theirs[0] and b"hello from rc" in theirs[0]


# With Tk's main window open, tclsh serves its events while it waits for a
# line: a timer fires at the prompt; once `.` is destroyed, no more.
TK_TYPED = [
    (b"package require Tk\n", b"% "),
    (b"after 200 {puts fired}\n", b"fired\r\r\n"),
    (b"destroy .\n", b"% "),
    (b"after 10 {puts {fired at the prompt}}\n", b"% "),
    (b"", None),
    (b"puts now\n", b"% "),
]


def test_tk_events_are_served_at_the_prompt_as_by_tclsh(tmp_path: Path, drop_in: Path,
                                                         display: str) -> None:
    ours = _session(drop_in, tmp_path, tmp_path, TK_TYPED, b"\x04", DISPLAY=display)
    theirs = _session(None, tmp_path, tmp_path, TK_TYPED, b"\x04", DISPLAY=display)
    assert ours == theirs
    assert theirs[1] == 0 and b"fired\r" in theirs[0] and b"at the prompt\r" not in theirs[0]
    # The end of a terminal's input ends the process, even with the window open.
    typed = [(b"package require Tk\n", b"% ")]
    ours = _session(drop_in, tmp_path, tmp_path, typed, b"\x04", DISPLAY=display)
    assert ours == _session(None, tmp_path, tmp_path, typed, b"\x04", DISPLAY=display)
    assert ours[1] == 0


# -- a cron job --------------------------------------------------------------------------

JOB = r"""#!/usr/bin/env tclsh
package require smtp
package require mime
set tok [mime::initialize -canonical text/plain -string "all is well\n"]
mime::setheader $tok Subject "nightly report"
set result [smtp::sendmessage $tok -servers mail.example.com \
    -originator ops@example.com -recipients boss@example.com]
puts "sent: $result"
"""


def _cron(job: Path, drop_in: Path, home: Path, **env: str) -> subprocess.CompletedProcess:
    """`job` run as cron runs a crontab line: /bin/sh -c, cron's few
    variables (none of the test's), `tclsh` on PATH the drop-in."""
    cron_env = {"PATH": f"{drop_in}:/usr/bin:/bin", "HOME": str(home), "SHELL": "/bin/sh",
                "LOGNAME": "cron", **env}
    return subprocess.run(["/bin/sh", "-c", f"cd {home} && {job}"], capture_output=True,
                          text=True, timeout=120, env=cron_env)


@pytest.mark.parametrize("via", ["environment", "config file"])
def test_a_cron_job_mail_lands_in_the_capture(tmp_path: Path, drop_in: Path, via: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    job = home / "job.tcl"
    job.write_text(JOB)
    job.chmod(0o755)
    if via == "environment":
        captured = tmp_path / "captured"
        done = _cron(job, drop_in, home, TCLBRIDGE_CAPTURE=str(captured))
    else:
        config = home / ".config" / "tclbridge" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text('capture = "captured"\n')
        captured = config.parent / "captured"
        done = _cron(job, drop_in, home)
    assert (done.returncode, done.stdout) == (0, "sent: \n"), done.stderr
    assert done.stderr.endswith(f"tclbridge: 1 message captured in {captured}\n")
    message = (captured / "0001.eml").read_bytes()
    assert b"Subject: nightly report\r\n" in message
    assert message.endswith(b"all is well\r\n")


def test_tclbridge_server_sends_a_drop_in_runs_mail_there(tmp_path: Path, drop_in: Path) -> None:
    (tmp_path / "job.tcl").write_text(JOB)
    with scripted_server() as server:
        done = subprocess.run(["tclsh", "job.tcl"], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path,
                              env=_env(drop_in, TCLBRIDGE_SERVER=f"127.0.0.1:{server.port}"))
        assert (done.returncode, done.stdout, done.stderr) == (0, "sent: \n", "")
        assert len(server.messages) == 1


def test_check_never_takes_the_drop_in_for_tclsh(drop_in: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which("tclsh", path=path_with(None))
    monkeypatch.setenv("PATH", path_with(drop_in))
    assert shutil.which("tclsh") == str(drop_in / "tclsh")
    assert find_tclsh() == real
