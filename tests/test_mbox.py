"""tcllib's mbox package and `mime::initialize -file BOX -root R -offset N -count M`.

tcllib's mbox package (the mailbox reader of its example mail apps) hands
each message of a mailbox file to mime as that option set; the bridge used
to refuse `-root` as an unknown option. The differential tests run one
program under tclsh + tcllib and under `tclbridge run` and compare what
they print: a mail tool reading a small mailbox through the real
/usr/share/doc/tcllib/examples/mime/mbot/mbox.tcl, then each option and each
error on its own (cases run in one script per implementation, compared case
by case). The rest are the bridge's own behaviour where tcllib hangs or
where docs/COMPAT.md says the bridge differs (`root-channel`,
`count-past-eof`), and its time and memory on large mailboxes. (`-lineslist`,
still refused, COMPAT `internal-options`, is compat_suite case 73.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tclbridge import Interp
from tclbridge.engine_errors import MimeError
from tests.support.bounded import run_tcl
from tests.support.mbox_files import (
    HAVE_MBOX,
    MBOX_TCL,
    MESSAGES,
    Span,
    write_mbox,
)
from tests.support.tcl_programs import run_program

needs_tcllib = pytest.mark.skipif(not HAVE_MBOX, reason="needs tclsh and tcllib's mbox example")

# -- a mail tool reading a mailbox with tcllib's mbox package ---------------------------

# A text as printable ASCII: other bytes as \xNN (binary attachments).
SHOW = r"""
proc show {text} {
    set out ""
    foreach c [split $text ""] {
        scan $c %c n
        if {$n == 10 || ($n >= 32 && $n < 127)} {
            append out $c
        } else {
            append out [format {\x%02x} $n]
        }
    }
    return $out
}
"""

MAIL_TOOL = r"""
# Reads every message of a mailbox with tcllib's mbox package and prints
# what a mail tool sees of it.
lassign $argv mboxtcl box
package require mime
source $mboxtcl

@SHOW@

proc dump {tok indent} {
    puts "${indent}token $tok"
    puts "${indent}names [mime::getheader $tok -names]"
    puts "${indent}header [show [mime::getheader $tok]]"
    puts "${indent}props [mime::getproperty $tok]"
    puts "${indent}size [mime::getsize $tok]"
    if {[catch {mime::getproperty $tok parts} parts]} {
        puts "${indent}body [show [mime::getbody $tok]]"
        puts "${indent}decoded [show [mime::getbody $tok -decode]]"
    } else {
        foreach part $parts {
            dump $part "$indent  "
        }
    }
}

set mb [mbox::initialize -file $box]
puts "mbox $mb [mbox::getproperty $mb]"
foreach n [mbox::getproperty $mb messages] {
    puts "message $n [mbox::getmsgproperty $mb $n]"
    set m [mbox::getmsgtoken $mb $n]
    puts "same token again: [expr {[mbox::getmsgtoken $mb $n] eq $m}]"
    if {![catch {lindex [mime::getheader $m From] 0} from]} {
        puts "from [mime::parseaddress $from]"
    }
    if {![catch {lindex [mime::getheader $m Date] 0} date]} {
        puts "date [mime::parsedatetime $date hour]:[mime::parsedatetime $date min]"
    }
    dump $m ""
    puts "built [show [mime::buildmessage $m]]"
    set out [open copy$n.eml w]
    fconfigure $out -translation binary
    mime::copymessage $m $out
    close $out
    set in [open copy$n.eml rb]
    puts "copied [show [read $in]]"
    close $in
}
mbox::finalize $mb
puts "after finalize: [catch {mime::getproperty $m} err] $err"
puts "next token: [mime::initialize -string "Subject: x\n\ny"]"
""".replace("@SHOW@", SHOW)


@needs_tcllib
def test_mail_tool_reading_a_mailbox_with_tcllibs_mbox_package(tmp_path: Path) -> None:
    outputs = {}
    for bridge in (False, True):
        workdir = tmp_path / ("bridge" if bridge else "tcllib")
        workdir.mkdir()
        write_mbox(workdir / "box.mbox")
        (workdir / "tool.tcl").write_text(MAIL_TOOL)
        outputs[bridge] = run_program(
            workdir / "tool.tcl", str(MBOX_TCL), "box.mbox", bridge=bridge
        )
    assert outputs[True] == outputs[False]
    # What both printed: every message, parsed to the leaves.
    out = outputs[True]
    assert out.startswith("exit 0\nmbox ::mbox::1 count 4 first 1 last 4 messages {1 2 3 4}\n")
    assert ">From the desk of Alice" in out
    assert "props params {boundary XYZ} parts {::mime::3-1 ::mime::3-2}" in out
    assert "  body \\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\xff\n" in out
    assert "  token ::mime::5-1\n" in out
    assert "next token: ::mime::9\n" in out


# -- each option and error, case by case --------------------------------------------------

CASES_PRELUDE = r"""
lassign $argv box
package require mime
source spans.tcl
set boxsize [file size $box]
# A root as tcllib's mbox package makes one: an array holding the
# mailbox's channel in `fd`.
namespace eval ::box {}
set ::box::1(fd) [open $box r]
fconfigure $::box::1(fd) -translation binary

@SHOW@
# What a script can read of a token; `-nobody` leaves getbody out (tcllib
# loops forever on a span past the end of the file).
proc describe {tok {body 1}} {
    set r [list token $tok props [mime::getproperty $tok] header [mime::getheader $tok]]
    if {[catch {mime::getproperty $tok parts} parts]} {
        if {$body == 1} { lappend r body [mime::getbody $tok] }
    } else {
        foreach part $parts { lappend r part [describe $part $body] }
    }
    lappend r built [mime::buildmessage $tok]
    return [show $r]
}
proc case {name script} {
    set code [catch {uplevel #0 $script} result]
    puts "=== $name"
    puts "code $code"
    puts "result [show $result]"
    if {$code} { puts "errorCode $::errorCode" }
}
proc span {n} {
    return [list -offset [lindex $::spans $n 0] -count [lindex $::spans $n 1]]
}
""".replace("@SHOW@", SHOW)

# name -> Tcl script; `$box` is the mailbox, `[span N]` message N's offset
# and count as tcllib's mbox package finds them (N from 0).
CASES: dict[str, str] = {
    # What the token reads as.
    "plain-message": "describe [mime::initialize -file $box -root ::box::1 {*}[span 0]]",
    "multipart-message": "describe [mime::initialize -file $box -root ::box::1 {*}[span 1]]",
    "message-rfc822": "describe [mime::initialize -file $box -root ::box::1 {*}[span 2]]",
    "last-message": "describe [mime::initialize -file $box -root ::box::1 {*}[span 3]]",
    "getsize-and-names": """
        set t [mime::initialize -file $box -root ::box::1 {*}[span 1]]
        list [mime::getsize $t] [mime::getproperty $t size] [mime::getheader $t -names] \
            [mime::getproperty $t -names] [mime::getsize $t-2]""",
    "getbody-blocks": """
        set t [mime::initialize -file $box -root ::box::1 {*}[span 0]]
        proc collect {args} { lappend ::blocks $args; return }
        set ::blocks {}
        mime::getbody $t -command collect -blocksize 7
        set ::blocks""",
    "copymessage": """
        set t [mime::initialize -file $box -root ::box::1 {*}[span 1]]
        set out [open copy.eml w]
        fconfigure $out -translation binary
        mime::copymessage $t $out
        close $out
        set in [open copy.eml rb]
        set data [read $in]
        close $in
        set data""",
    "copymessage-after-root-gone": """
        set ::box::2(fd) [open $box r]
        fconfigure $::box::2(fd) -translation binary
        set t [mime::initialize -file $box -root ::box::2 {*}[span 0]]
        close $::box::2(fd)
        unset ::box::2
        mime::buildmessage $t""",
    # Spans that are not a whole message.
    "offset-mid-line": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [expr {[lindex $spans 0 0] + 2}] -count 60]""",
    "offset-mid-line-no-colon": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [expr {[lindex $spans 0 0] + 6}] -count 40]""",
    "count-zero": "describe [mime::initialize -file $box -root ::box::1 -offset 0 -count 0]",
    "count-negative": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [lindex $spans 3 0] -count -5]""",
    "count-ends-inside-headers": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [lindex $spans 0 0] -count 10]""",
    "multipart-cut-before-its-end": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [lindex $spans 1 0] -count 300]""",
    "offset-past-eof-count-zero": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [expr {$boxsize + 10}] -count 0]""",
    "offset-past-eof": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [expr {$boxsize + 10}] -count 5] 0""",
    "count-past-eof": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [lindex $spans 3 0] -count 1000] 0""",
    "count-huge": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [lindex $spans 3 0] -count 100000000000000000000000] 0""",
    "offset-hex-and-spaces": """
        set a [mime::initialize -file $box -root ::box::1 \
            -offset [format 0x%x [lindex $spans 0 0]] -count [lindex $spans 0 1]]
        set b [mime::initialize -file $box -root ::box::1 \
            -offset " [lindex $spans 0 0] " -count " [lindex $spans 0 1] "]
        list [describe $a] [describe $b]""",
    "count-hex": """
        describe [mime::initialize -file $box -root ::box::1 \
            -offset [lindex $spans 3 0] -count 0x10]""",
    "root-relative-to-mime-namespace": """
        set ::mime::mailbox(fd) $::box::1(fd)
        describe [mime::initialize -file $box -root mailbox {*}[span 0]]""",
    "root-channel-not-binary": """
        set ::box::3(fd) [open $box r]
        describe [mime::initialize -file $box -root ::box::3 {*}[span 0]]""",
    # Where tcllib takes no notice of them.
    "string-ignores-span-options": """
        describe [mime::initialize -string "Subject: s\\n\\nbody" -root nosuch \
            -offset abc -count -5]""",
    "canonical-string-ignores-root": """
        set t [mime::initialize -canonical text/plain -string body -root nosuch]
        list [mime::getproperty $t] [mime::getbody $t]""",
    "file-without-root-ignores-offset-and-count": """
        set t [mime::initialize -file $box -offset abc -count xyz]
        list [mime::getproperty $t size] [mime::getheader $t -names]""",
    # Token names.
    "token-numbering": """
        set r {}
        lappend r [catch {mime::initialize -file $box -root nosuch {*}[span 0]}]
        lappend r [catch {mime::initialize -file $box -root ::box::1 -offset x -count 1}]
        set t [mime::initialize -file $box -root ::box::1 {*}[span 1]]
        lappend r $t [mime::getproperty $t parts] [mime::initialize -string "a: b\\n\\nc"]""",
    "finalize": """
        set t [mime::initialize -file $box -root ::box::1 {*}[span 1]]
        mime::finalize $t
        list [catch {mime::getproperty $t} e] $e [catch {mime::getproperty $t-1} e] $e \
            [info exists ::box::1(fd)]""",
    # Errors.
    "root-is-a-mime-token": """
        set m [mime::initialize -string "a: b\\n\\nc"]
        mime::initialize -file $box -root $m {*}[span 0]""",
    "root-is-a-mime-token-named-relatively": """
        set m [mime::initialize -string "a: b\\n\\nc"]
        mime::initialize -file $box -root [namespace tail $m] {*}[span 0]""",
    "root-is-a-finalized-mime-token": """
        set m [mime::initialize -string "a: b\\n\\nc"]
        mime::finalize $m
        mime::initialize -file $box -root $m {*}[span 0]""",
    "root-is-no-variable": "mime::initialize -file $box -root ::nosuch {*}[span 0]",
    "root-relative-no-variable": "mime::initialize -file $box -root nosuch {*}[span 0]",
    "root-namespace-missing": "mime::initialize -file $box -root ::nons::x {*}[span 0]",
    "root-is-a-scalar": """
        set ::scalar 1
        mime::initialize -file $box -root ::scalar {*}[span 0]""",
    "root-fd-not-a-channel": """
        set ::box::4(fd) nochannel
        mime::initialize -file $box -root ::box::4 {*}[span 0]""",
    "root-fd-closed": """
        set ::box::5(fd) [open $box r]
        close $::box::5(fd)
        mime::initialize -file $box -root ::box::5 {*}[span 0]""",
    "offset-missing": "mime::initialize -file $box -root ::box::1 -count 5",
    "count-missing": "mime::initialize -file $box -root ::box::1 -offset 0",
    "both-missing-root-bad": "mime::initialize -file $box -root ::box::4",
    "offset-not-a-number": "mime::initialize -file $box -root ::box::1 -offset abc -count 5",
    "offset-negative": "mime::initialize -file $box -root ::box::1 -offset -5 -count 5",
    "offset-float": "mime::initialize -file $box -root ::box::1 -offset 1e3 -count 5",
    "offset-too-large": """
        mime::initialize -file $box -root ::box::1 -offset 100000000000000000000000 -count 5""",
    "offset-empty": "mime::initialize -file $box -root ::box::1 -offset {} -count 5",
    "count-not-a-number": "mime::initialize -file $box -root ::box::1 -offset 0 -count abc",
    "count-empty": "mime::initialize -file $box -root ::box::1 -offset 0 -count {}",
    "count-float-plain-message": """
        mime::initialize -file $box -root ::box::1 -offset [lindex $spans 0 0] -count 2.5""",
    "count-exponent-plain-message": """
        mime::initialize -file $box -root ::box::1 -offset [lindex $spans 0 0] -count 1e3""",
    "offset-bad-and-count-bad": "mime::initialize -file $box -root ::box::1 -offset x -count y",
    "span-with-unknown-option": """
        mime::initialize -file $box -root ::box::1 {*}[span 0] -lineslist2 x""",
    "span-with-param": """
        mime::initialize -file $box -root ::box::1 {*}[span 0] -param {a b}""",
}


def cases_script() -> str:
    body = [CASES_PRELUDE]
    for name, script in CASES.items():
        body.append(f"case {name} {{{script}}}")
    return "\n".join(body) + "\n"


def write_spans(path: Path, spans: list[Span]) -> None:
    items = " ".join(f"{{{s.offset} {s.size}}}" for s in spans)
    path.write_text(f"set spans {{{items}}}\n")


def split_cases(output: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in output.split("\n=== ")[1:]:
        name, _, rest = chunk.partition("\n")
        found[name] = rest
    return found


@pytest.fixture(scope="module")
def case_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, dict[str, str]]:
    outputs = {}
    for bridge in (False, True):
        workdir = tmp_path_factory.mktemp("bridge" if bridge else "tcllib")
        spans = write_mbox(workdir / "box.mbox")
        write_spans(workdir / "spans.tcl", spans)
        (workdir / "cases.tcl").write_text(cases_script())
        text = run_program(workdir / "cases.tcl", "box.mbox", bridge=bridge)
        outputs[bridge] = split_cases("\n" + text.split("\n", 1)[1])
    return outputs


@needs_tcllib
@pytest.mark.parametrize("name", list(CASES))
def test_option_case_same_as_tcllib(
    name: str, case_outputs: dict[bool, dict[str, str]]
) -> None:
    expected = case_outputs[False].get(name)
    assert expected is not None, f"tclsh did not reach case {name}"
    assert case_outputs[True].get(name) == expected


# -- the bridge's own behaviour -----------------------------------------------------------


def _root(tcl: Interp, box: Path, name: str = "::box::1") -> None:
    tcl.eval("namespace eval ::box {}")
    tcl.call("set", f"{name}(fd)", tcl.call("open", str(box), "r"))
    tcl.eval(f"fconfigure ${name}(fd) -translation binary")


def _error(tcl: Interp, script: str) -> tuple[str, str]:
    tcl.call("set", "script", script)
    code = tcl.eval("catch {uplevel #0 $script} r")
    assert code == "1", tcl.eval("set r")
    return tcl.eval("set r"), tcl.eval("set ::errorCode")


@pytest.mark.skipif(not MBOX_TCL.exists(), reason="needs tcllib's mbox example")
def test_getbody_of_a_last_message_without_final_newline_ends(tmp_path: Path) -> None:
    # mbox.tcl counts a final line without LF one byte longer than the file,
    # and tcllib's getbody then loops forever (COMPAT count-past-eof).
    box = tmp_path / "box.mbox"
    box.write_bytes(b"From x Mon Jan  1 00:00:00 2024\nSubject: a\n\nlast one")
    script = tmp_path / "read.tcl"
    script.write_text(
        f"package require mime\nsource {MBOX_TCL}\n"
        "set mb [mbox::initialize -file [lindex $argv 0]]\n"
        "set m [mbox::getmsgtoken $mb 1]\n"
        "puts [list [mbox::getmsgproperty $mb 1 size] [mime::getproperty $m size]"
        " [mime::getbody $m]]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tclbridge", "run", str(script), str(box)],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "21 9 {last one}\n"


def test_getbody_of_a_span_past_the_end_of_the_file_ends(tcl: Interp, tmp_path: Path) -> None:
    box = tmp_path / "box.mbox"
    spans = write_mbox(box)
    _root(tcl, box)
    last = spans[-1]
    tok = tcl.eval(f"mime::initialize -file {{{box}}} -root ::box::1 "
                   f"-offset {last.offset} -count 100000000000000000000")
    assert tcl.eval(f"mime::getbody {tok}") == "last one\n"
    beyond = tcl.eval(f"mime::initialize -file {{{box}}} -root ::box::1 "
                      f"-offset {box.stat().st_size + 100} -count 50")
    assert tcl.eval(f"mime::getbody {beyond}") == ""
    assert tcl.eval(f"mime::getproperty {beyond} size") == "50"


def test_canonical_file_with_root_is_refused(tcl: Interp, tmp_path: Path) -> None:
    # tcllib would build -count bytes of the root's file from its start.
    box = tmp_path / "box.mbox"
    write_mbox(box)
    _root(tcl, box)
    message, code = _error(
        tcl, f"mime::initialize -canonical text/plain -file {{{box}}} -root ::box::1 -count 5"
    )
    assert message == "-root applies to a message parsed from a file, not to -canonical -file"
    assert code == "NONE"


def test_a_fractional_count_is_refused_for_a_multipart_too(tcl: Interp, tmp_path: Path) -> None:
    # tcllib fails on it for a leaf only (its `incr`); the bridge always.
    box = tmp_path / "box.mbox"
    spans = write_mbox(box)
    _root(tcl, box)
    message, code = _error(
        tcl, f"mime::initialize -file {{{box}}} -root ::box::1 -offset {spans[1].offset} "
        "-count 1e3",
    )
    assert (message, code) == ('expected integer but got "1e3"', "TCL VALUE INTEGER")


def test_the_file_is_read_by_name_and_the_root_channel_left_at_the_offset(
    tcl: Interp, tmp_path: Path
) -> None:
    # COMPAT root-channel: tcllib reads the headers through the root's
    # channel; the bridge only seeks it (for tcllib's errors) and reads -file.
    box = tmp_path / "box.mbox"
    spans = write_mbox(box)
    other = tmp_path / "other.mbox"
    other.write_bytes(b"x" * 4000)
    _root(tcl, other)
    tok = tcl.eval(f"mime::initialize -file {{{box}}} -root ::box::1 "
                   f"-offset {spans[0].offset} -count {spans[0].size}")
    assert tcl.eval(f"mime::getheader {tok} Subject") == "first"
    assert tcl.eval("tell $::box::1(fd)") == str(spans[0].offset)


def test_python_errors_never_reach_the_script_for_hostile_spans(
    tcl: Interp, tmp_path: Path
) -> None:
    box = tmp_path / "box.mbox"
    write_mbox(box)
    _root(tcl, box)
    hostile = ["-1", "9" * 40, "-" + "9" * 40, "0x7fffffffffffffff", "0x10", "1e308", "nan",
               "inf", "0b1", "1_0", "\u0661", "", " ", "0" * 10000]
    parsed = set()
    for offset in ["0", *hostile]:
        for count in ["0", "100", *hostile]:
            tcl.call("set", "o", offset)
            tcl.call("set", "c", count)
            code = tcl.eval(
                f"catch {{mime::initialize -file {{{box}}} -root ::box::1 -offset $o -count $c}} r"
            )
            result = tcl.eval("set r")
            assert "internal error" not in result, (offset, count, result)
            assert "unknown option" not in result, (offset, count, result)
            if code == "0":
                parsed.add((offset, count))
                # Reading it must end too (no getbody loop past the end).
                tcl.eval(f"mime::getbody {result}; mime::buildmessage {result}")
    # Tcl's integers, whatever their spelling, are spans tcllib parses too.
    assert {("0", "0"), ("0", "100"), ("0", "9" * 40), ("0" * 10000, "-1"),
            ("0x10", "100")} <= parsed


def test_no_root_in_python_configure() -> None:
    # configure is Tcl's; without the Tcl layer's locator -root cannot be read.
    from tclbridge.mime.initialize import configure

    with pytest.raises(MimeError, match="-root names a Tcl variable"):
        configure([("-file", "/dev/null"), ("-root", "::x"), ("-offset", "0"), ("-count", "1")])


# -- size and time ------------------------------------------------------------------------

_WRAPPER = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(proc.stderr)
print(proc.returncode, peak)
print(proc.stdout, end="")
"""


def _measured(script: Path, *args: str, limit: float) -> tuple[int, str]:
    """Runs a script under the bridge in a child; (peak RSS in KiB, stdout)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "tclbridge", "run",
             str(script), *args],
            capture_output=True, text=True, timeout=limit,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {limit:g} s: no longer linear")
    head, _, out = proc.stdout.partition("\n")
    code, peak = head.split()
    assert code == "0", proc.stderr[-3000:]
    return int(peak), out


READ_ALL = r"""
lassign $argv mboxtcl box
package require mime
source $mboxtcl
set mb [mbox::initialize -file $box]
set n 0
set bytes 0
proc count {reason {data ""}} {
    if {$reason eq "data"} { incr ::bytes [string length $data] }
    return
}
foreach msg [mbox::getproperty $mb messages] {
    set m [mbox::getmsgtoken $mb $msg]
    # The whole header list: its Content-Transfer-Encoding is chosen by
    # scanning the whole mailbox file (as tcllib does), once per file here.
    incr n [llength [mime::getheader $m]]
    if {[catch {mime::getproperty $m parts} parts]} { set parts [list $m] }
    foreach p $parts { mime::getbody $p -command count -blocksize 65536 }
}
puts "[mbox::getproperty $mb count] $n $bytes"
"""


HEADERS_OF_EACH = r"""
package require mime
source $mboxtcl
set mb [mbox::initialize -file $box]
set n 0
foreach msg [mbox::getproperty $mb messages] {
    # The whole header list: its Content-Transfer-Encoding is chosen by
    # scanning the whole mailbox file, as tcllib does.
    incr n [llength [mime::getheader [mbox::getmsgtoken $mb $msg]]]
}
puts "[mbox::getproperty $mb count] $n"
"""


@pytest.mark.skipif(not MBOX_TCL.exists(), reason="needs tcllib's mbox example")
def test_the_headers_of_every_message_in_linear_time(tmp_path: Path) -> None:
    # 200 messages in 20 MB: tcllib scans the whole mailbox again for each
    # message's encoding, 200 x 20 MB. Measured under `tclbridge run`: 66 s
    # (38 s CPU) with a scan per message, 1.5 s with the scans shared.
    box = tmp_path / "box.mbox"
    body = b"line of body text that is plain ascii\n" * 2600 + b"\n"
    with box.open("wb") as out:
        for i in range(200):
            out.write(b"From a@example.com Mon Jan  1 00:00:00 2024\n")
            out.write(b"From: a@example.com\nSubject: m%d\n\n" % i)
            out.write(body)
    paths = f"set mboxtcl {{{MBOX_TCL}}}\nset box {{{box}}}\n"
    out = run_tcl(paths + HEADERS_OF_EACH, "the headers of 200 messages of a 20 MB mailbox")
    # MIME-Version, From, Subject, Content-Transfer-Encoding and
    # Content-Type, as name-value pairs, per message.
    assert out == f"200 {200 * 10}\n"


MAILBOX_GROWS = r"""
lassign $argv mboxtcl box
package require mime
source $mboxtcl
set mb [mbox::initialize -file $box]
set first [mbox::getmsgtoken $mb 1]
puts [mime::getheader $first Content-Transfer-Encoding]
# New mail arrives, not ASCII: the encoding chosen by scanning the whole
# mailbox changes, for the same token and for a new one.
set out [open $box a]
fconfigure $out -translation binary
puts -nonewline $out "From b@example.com Mon Jan  1 00:00:00 2024
Subject: new

cafÃ©
"
close $out
puts [mime::getheader $first Content-Transfer-Encoding]
set again [mime::initialize -file $box -root $mb -offset 44 -count 60]
puts [list $again [mime::getheader $again Content-Transfer-Encoding]]
"""


@needs_tcllib
def test_the_mailbox_is_scanned_again_once_it_changes(tmp_path: Path) -> None:
    # The whole-mailbox scan is shared by the messages of a mailbox, but
    # not past a change of the file: tcllib scans again every time.
    outputs = {}
    for bridge in (False, True):
        workdir = tmp_path / ("bridge" if bridge else "tcllib")
        workdir.mkdir()
        (workdir / "box.mbox").write_bytes(
            b"From a@example.com Mon Jan  1 00:00:00 2024\n"
            b"Content-Type: text/plain; charset=utf-8\nSubject: old\n\nplain\n"
        )
        (workdir / "grow.tcl").write_text(MAILBOX_GROWS)
        outputs[bridge] = run_program(
            workdir / "grow.tcl", str(MBOX_TCL), "box.mbox", bridge=bridge
        )
    assert outputs[True] == outputs[False]
    assert outputs[True] == "exit 0\nquoted-printable\nbase64\n::mime::2 base64\n\nstderr: \n"


@pytest.mark.skipif(not MBOX_TCL.exists(), reason="needs tcllib's mbox example")
def test_a_large_mailbox_is_never_held_in_memory(tmp_path: Path) -> None:
    # A 48 MB attachment (64 MB as base64) in the middle of a mailbox: the
    # bridge reads the message's span line by line and its body in blocks.
    attachment = 48 << 20
    box = tmp_path / "big.mbox"
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\n"
    with box.open("wb") as out:
        out.write(b"From a@example.com Mon Jan  1 00:00:00 2024\n")
        out.write(MESSAGES[0])
        out.write(b"From b@example.com Mon Jan  1 00:00:00 2024\n")
        out.write(b'From: b@example.com\nContent-Type: multipart/mixed; boundary="B"\n\n')
        out.write(b"--B\nContent-Type: text/plain\n\nsee attached\n--B\n")
        out.write(b"Content-Type: application/octet-stream\n"
                  b"Content-Transfer-Encoding: base64\n\n")
        block = line * 1024
        for _ in range(attachment // (54 * 1024)):
            out.write(block)
        out.write(b"--B--\n\n")
        out.write(b"From c@example.com Mon Jan  1 00:00:00 2024\n")
        out.write(MESSAGES[3])
    script = tmp_path / "read.tcl"
    script.write_text(READ_ALL)
    peak, out = _measured(script, str(MBOX_TCL), str(box), limit=300)
    decoded = (attachment // (54 * 1024)) * 1024 * 54
    first_body = MESSAGES[0].split(b"\n\n", 1)[1]
    count, _, body_bytes = out.split()
    assert count == "3"
    assert int(body_bytes) == len(first_body) + len(b"see attached") + decoded + len(b"last one\n")
    assert peak < 64 * 1024, f"peak RSS {peak // 1024} MB"


def test_a_missing_file_with_a_root_fails_at_once(tcl: Interp, tmp_path: Path) -> None:
    # COMPAT root-channel: tcllib would read the headers through the root's
    # channel and fail only at getbody.
    box = tmp_path / "box.mbox"
    write_mbox(box)
    _root(tcl, box)
    missing = tmp_path / "gone.mbox"
    message, code = _error(
        tcl, f"mime::initialize -file {{{missing}}} -root ::box::1 -offset 0 -count 1"
    )
    assert message == f'couldn\'t open "{missing}": no such file or directory'
    assert code == "POSIX ENOENT {no such file or directory}"
