"""A lone surrogate ("\\ud800", a character to Tcl 8.6) anywhere a script
passes text: never an internal error (COMPAT `lone-surrogate`).

tkinter hands such a character to Python as three escape characters and
refuses a real one back; the bridge's Python code used to crash on them
(TCLBRIDGE INTERNAL UnicodeEncodeError) or write them three times encoded.
Where tcllib's result is safe, the bridge gives tcllib's result: each
differential test runs one script under tclsh + tcllib and under
`tclbridge run`, each against its own recording server on 127.0.0.1, and
compares what was printed (results as hex of their UTF-8 form) and every
byte delivered. Where tcllib is unsafe (an address, the EHLO name or an
AUTH credential: it sends the character's low byte, a NUL) the bridge
refuses with a Tcl error, errorCode `TCLBRIDGE TEXT SURROGATE`, before
connecting.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tclbridge import Interp
from tclbridge.mime import new_part
from tclbridge.recorder import RecordingServer
from tclbridge.smtp.api import sendmessage
from tclbridge.smtp.exceptions import SMTPUsageError
from tests.support.reference_runs import HAVE_TCLSH, run

needs_tclsh = pytest.mark.skipif(not HAVE_TCLSH, reason="needs tclsh and tcllib")

PRELUDE = r"""
package require mime
package require smtp
lassign $argv host port
set S "\ud800"
proc hex {s} {
    # Made-up ids and the run's directory differ between runs.
    regsub -all {<[0-9]+\.[0-9]+\.[0-9]+@[^>]*>} $s <ID> s
    set s [string map [list $::env(TMPDIR) <TMPDIR>] $s]
    binary scan [encoding convertto utf-8 $s] H* h
    return $h
}
proc show {name script} {
    set code [catch {uplevel #0 $script} res]
    puts "$name $code [hex $res]"
}
proc send {name tok args} {
    global host port
    show $name [list smtp::sendmessage $tok -servers $host -ports $port \
        -originator a@x.y -recipients b@x.y {*}$args]
}
"""

SENDS = r"""
send subject-option [mime::initialize -canonical text/plain -string hi] \
    -header [list Subject "x${S}y"]
set t [mime::initialize -canonical text/plain -string hi]
mime::setheader $t Subject "x${S}y"
send setheader $t
send initialize-header [mime::initialize -canonical text/plain \
    -header [list Subject "x${S}y"] -string hi]
send from-display-name [mime::initialize -canonical text/plain -string hi] \
    -header [list From "Ann $S <a@x.y>"]
send header-name [mime::initialize -canonical text/plain -string hi] \
    -header [list "X-$S" v]
foreach enc {7bit 8bit quoted-printable base64} {
    send body-$enc [mime::initialize -canonical text/plain -encoding $enc \
        -string "x${S}y\n"]
}
send body-chosen-encoding [mime::initialize -canonical text/plain -string "x${S}y\n"]
send parsed [mime::initialize -string "Subject: x${S}y\n\nb${S}\n"]
send param [mime::initialize -canonical text/plain -param [list name "n${S}"] -string hi]
send canonical [mime::initialize -canonical "text/x$S" -string hi]
send servers [mime::initialize -canonical text/plain -string hi] -servers "h$S"
send ports [mime::initialize -canonical text/plain -string hi] -ports "2$S"
"""

MIME_COMMANDS = r"""
show parseaddress {mime::parseaddress "a$S <b$S@x.y>"}
show word-encode-b {mime::word_encode utf-8 base64 "x${S}y"}
show word-encode-q {mime::word_encode utf-8 quoted-printable "x${S}y"}
show word-encode-raw {mime::word_encode utf-8 base64 "x${S}y" -charset_encoded 0}
show word-decode {mime::word_decode "=?utf-8?Q?x${S}y?="}
show field-decode {mime::field_decode "=?utf-8?Q?x${S}y?= z$S"}
show qp-encode {mime::qp_encode "x${S}y"}
show qp-decode {mime::qp_decode "x${S}y"}
show buildmessage {mime::buildmessage [mime::initialize -canonical text/plain \
    -header [list Subject "x${S}y"] -string "b$S"]}
show getheader {set t [mime::initialize -canonical text/plain -string hi]
    mime::setheader $t "X-$S" "v$S"
    mime::getheader $t}
show getbody {mime::getbody [mime::initialize -canonical text/plain -string "b$S"]}
show getbody-decode {mime::getbody [mime::initialize -canonical text/plain \
    -param {charset utf-8} -string "b$S"] -decode}
show getproperty {mime::getproperty [mime::initialize -canonical "text/x$S" \
    -param [list "k$S" "v$S"] -string hi]}
show mapencoding {mime::mapencoding "x$S"}
show reversemapencoding {mime::reversemapencoding "x$S"}
show parsedatetime {mime::parsedatetime "x$S" hour}
show encoding {mime::encoding [mime::initialize -canonical text/plain -string "x$S"]}
# Errors whose message quotes the text (from mime itself and from Tcl).
set t [mime::initialize -canonical text/plain -string hi]
show bad-boolean {mime::word_encode utf-8 base64 x -charset_encoded "1$S"}
show bad-charset {mime::word_encode "utf$S" base64 x}
show bad-property {mime::getproperty $t "x$S"}
show bad-key {mime::getheader $t "x$S"}
show bad-callback {mime::getbody $t -command "x$S"}
show bad-channel {mime::copymessage $t "x$S"}
show bad-option {mime::initialize "-x$S" 1}
# A file whose name holds the surrogate, written by Tcl itself.
set path [file join $env(TMPDIR) "f$S.txt"]
set f [open $path w]
puts -nonewline $f "Subject: from a file\n\nfile body\n"
close $f
show file-build {mime::buildmessage [mime::initialize -canonical text/plain -file $path]}
show file-parse {mime::getbody [mime::initialize -file $path]}
show file-missing {mime::buildmessage [mime::initialize -canonical text/plain \
    -file "$path.missing"]}
"""


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "surrogates.tcl"
    path.write_text(PRELUDE + body, encoding="utf-8")
    return path


@needs_tclsh
def test_sends_are_tcllibs(tmp_path: Path) -> None:
    """Headers (value, name, display name, parameter, type), bodies in every
    transfer encoding and a parsed message: the same result and the same
    delivered bytes as tcllib (a surrogate in text goes out as Tcl's bytes
    ED A0 80; base64 carries its low byte, as tcllib's does). A host name
    with one fails as it does under tcllib: it does not resolve."""
    path = script(tmp_path, SENDS)
    reference, bridge = run(path, bridge=False), run(path, bridge=True)
    assert reference.exit == 0, reference.stderr
    assert bridge.exit == 0, bridge.stderr
    assert bridge.stdout == reference.stdout
    assert "TCLBRIDGE" not in bridge.stdout and "internal" not in bridge.stdout
    assert bridge.sessions == reference.sessions
    assert bridge.messages == reference.messages
    assert len(bridge.messages) == 13
    assert any(b"Subject: x\xed\xa0\x80y\r\n" in m for m in bridge.messages)


@needs_tclsh
def test_mime_commands_are_tcllibs(tmp_path: Path) -> None:
    """Every mime command given a surrogate: tcllib's result or tcllib's
    error, including a file whose name holds one."""
    path = script(tmp_path, MIME_COMMANDS)
    reference, bridge = run(path, bridge=False), run(path, bridge=True)
    assert reference.exit == 0, reference.stderr
    assert bridge.exit == 0, bridge.stderr
    expected = reference.stdout.splitlines()
    got = bridge.stdout.splitlines()
    assert [line.split()[0] for line in got] == [line.split()[0] for line in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs, (
            f"{mine.split()[0]}: tcllib {bytes.fromhex((theirs.split() + [''])[2])!r}, "
            f"bridge {bytes.fromhex((mine.split() + [''])[2])!r}"
        )
    assert " 0 " in got[-3] and " 0 " in got[-2]  # the file was found and read


# (options of sendmessage, the error's start); $v holds the surrogate.
REFUSED = {
    "-recipients": ("-originator a@x.y -recipients $v", "error in -recipients: lone surrogate"),
    "-originator": ("-originator $v -recipients b@x.y", "error in -originator: lone surrogate"),
    "To": ("-header [list To $v] -header {From a@x.y}", "error in To: lone surrogate"),
    "cc": ("-header {To b@x.y} -header [list cc $v] -header {From a@x.y}",
           "error in To/cc: lone surrogate"),
    "Bcc": ("-header {To b@x.y} -header [list Bcc $v] -header {From a@x.y}",
            "error in Bcc: lone surrogate"),
    "From": ("-header {To b@x.y} -header [list From $v]", "error in From: lone surrogate"),
    "-client": ("-originator a@x.y -recipients b@x.y -client h$v",
                "error in -client: lone surrogate"),
    "-username": ("-originator a@x.y -recipients b@x.y -username u$v -password p",
                  "error in -username: lone surrogate"),
    "-password": ("-originator a@x.y -recipients b@x.y -username u -password secret$v",
                  "error in -password: lone surrogate U+D800 is not a character"),
}


@pytest.mark.parametrize("where", list(REFUSED))
def test_unsendable_in_smtp_commands_refused(
    tcl: Interp, server: RecordingServer, where: str
) -> None:
    """An address, the EHLO name or an AUTH credential holding a surrogate
    is a clear Tcl error before connecting (tcllib sends a NUL in its
    place); the password is never shown."""
    options, error = REFUSED[where]
    tcl.eval('set v "b\\ud800@x.y"')
    assert tcl.eval("string length $v") == "6"
    code = tcl.eval(
        "catch {smtp::sendmessage [mime::initialize -canonical text/plain -string hi]"
        f" -servers 127.0.0.1 -ports {server.port} {options}}} res opts"
    )
    result = str(tcl.call("set", "res"))
    assert code == "1"
    assert result.startswith(error), result
    assert result.endswith("is not a character and cannot be sent")
    assert tcl.eval("dict get $opts -errorcode") == "TCLBRIDGE TEXT SURROGATE"
    assert "secret" not in result
    assert server.sessions == []


@needs_tclsh
def test_tcllib_sends_a_nul_for_the_surrogate(tmp_path: Path) -> None:
    """Why those are refused: tcllib writes the character's low byte."""
    path = script(tmp_path, "send rcpt [mime::initialize -canonical text/plain -string hi]"
                  " -recipients \"b${S}@x.y\" -client \"h$S\"\n")
    reference = run(path, bridge=False)
    assert reference.sessions[0][:3] == [
        "EHLO h\0", "MAIL FROM:<a@x.y> SIZE=<N>", "RCPT TO:<b\0@x.y>"
    ]


def test_python_api_text_with_surrogates(server: RecordingServer) -> None:
    """The Python API takes the same characters as str: a header and a body
    go out as Tcl's bytes, an address is the same clear error."""
    part = new_part(canonical="text/plain", string="b\ud800\n",
                    headers=[("Subject", "x\ud800y")])
    sendmessage(part, servers="127.0.0.1", ports=server.port, originator="a@x.y",
                recipients="c@x.y")
    content = server.messages[0].content
    assert b"\r\nSubject: x\xed\xa0\x80y\r\n" in content
    assert content.endswith(b"\r\n\r\nb\xed\xa0\x80\r\n")
    with pytest.raises(SMTPUsageError, match="lone surrogate U\\+D800"):
        sendmessage(part, servers="127.0.0.1", ports=server.port, originator="a@x.y",
                    recipients="c\ud800@x.y")
    assert len(server.sessions) == 1


# Every sendmessage option (and the mime options a token is made with), one at a time.
SWEEP = [
    "-originator a$v@x.y", "-recipients b$v@x.y", "-client c$v", "-servers s$v", "-ports 2$v",
    "-username u$v -password p", "-username u -password p$v", "-maxsecs 1$v", "-usetls 1$v",
    "-atleastone $v", "-queue x$v", "-debug $v", "-tlspolicy p$v", "-tlsimport 1$v",
    "-header [list Subject s$v]", "-header [list X-$v s]", "-header [list To t$v@x.y]",
    "-header [list From f$v@x.y]", "-header [list Bcc b$v@x.y]", "-header [list Dcc d$v@x.y]",
    "-header [list Resent-To r$v@x.y]", "-header [list Content-Type$v x]", "-x$v 1",
]


@pytest.mark.parametrize("option", SWEEP)
def test_no_option_gives_an_internal_error(
    tcl: Interp, server: RecordingServer, option: str
) -> None:
    """A surrogate in any option: a result or an ordinary Tcl error, never
    TCLBRIDGE INTERNAL, and never a NUL or a surrogate's bytes in a command."""
    tcl.eval('set v "\\ud800"')
    defaults = "-originator a@x.y -recipients b@x.y -servers 127.0.0.1"
    tcl.eval(
        "catch {smtp::sendmessage [mime::initialize -canonical text/plain -string hi]"
        f" {defaults} -ports {server.port} {option}}} res opts"
    )
    errorcode = tcl.eval("expr {[dict exists $opts -errorcode] ? [dict get $opts -errorcode] : {}}")
    assert not errorcode.startswith("TCLBRIDGE INTERNAL"), tcl.eval("set res")
    for session in server.sessions:
        for command in session.commands:
            assert "\0" not in command and "\udced" not in command, command


def test_python_called_from_tcl_sees_one_character(tcl: Interp) -> None:
    """tclbridge::call hands Python the surrogate itself (one character,
    as Tcl counts it), and a result holding one reaches Tcl intact."""
    assert tcl.eval('tclbridge::call builtins.len "x\\ud800"') == "2"
    assert tcl.eval(
        'expr {[tclbridge::call html.unescape "x\\ud800&amp;"] eq "x\\ud800&"}'
    ) == "1"
