"""Parsers and codecs run in linear time on hostile input (docs/RELIABILITY.md).

Each guard runs the real Tcl command under `tclbridge run` in a child
process with a hard limit (tests/support/bounded.py). The inputs are sized
so that linear code needs a second or two and the quadratic code these
replaced needs minutes (measured before the fix: e.g. qp_decode on 200 KB of
blanks took 20 s, so 2 MB would take over half an hour). Nothing is timed
finely: the limit only tells "linear" from "quadratic", and each guard also
checks the result. `python -m bench.complexity` measures the same cases at
n and 8n.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.support.bounded import LIMIT, run_python, run_tcl, run_tclsh
from tests.support.tcl_programs import HAVE_TCLSH

MB = 1_000_000


def tcl_output(script: str, what: str, limit: float = LIMIT) -> list[str]:
    return run_tcl(script, what, limit).split()


# -- runs of blanks against backtracking regexes ----------------------------------------


def test_qp_decode_of_a_long_run_of_blanks() -> None:
    out = tcl_output(
        f"""
        puts [string length [mime::qp_decode "[string repeat " " {2 * MB}]x"]]
        puts [string length [mime::qp_decode "[string repeat "\t " {MB}]"]]
        puts [mime::qp_decode "a[string repeat " " {2 * MB}]\\nb"]
        """,
        "mime::qp_decode on 2 MB of blanks",
    )
    # Blanks before a line end and at the very end go; others stay.
    assert out == [str(2 * MB + 1), "0", "a", "b"]


def test_getbody_of_a_quoted_printable_part_with_a_long_run_of_blanks() -> None:
    out = tcl_output(
        f"""
        set message "Content-Transfer-Encoding: quoted-printable\\n\\n"
        append message "[string repeat " " {2 * MB}]x=\\n[string repeat " " {MB}]\\ny\\n"
        set tok [mime::initialize -string $message]
        set body [mime::getbody $tok]
        puts [string length $body]
        puts [string trim $body]
        """,
        "mime::getbody of a QP part with 3 MB of blanks",
    )
    # The soft break joins x to the blanks after it, which end a line and go.
    assert out == [str(2 * MB + 4), "x", "y"]


def test_word_decode_of_a_q_word_of_blanks() -> None:
    out = tcl_output(
        f"""
        set r [mime::word_decode "=?UTF-8?Q?[string repeat " " {2 * MB}]x?="]
        puts [lrange $r 0 1]
        puts [string length [lindex $r 2]]
        """,
        "mime::word_decode of a 2 MB Q word",
    )
    assert out == ["utf-8", "quoted-printable", str(2 * MB + 1)]


def test_field_decode_of_a_q_word_of_blanks() -> None:
    out = tcl_output(
        f"""
        puts [string length [mime::field_decode "a =?UTF-8?Q?[string repeat "_ " {MB}]x?= b"]]
        """,
        "mime::field_decode of a 2 MB Q word",
    )
    assert out == [str(2 * MB + len("a x b"))]


# -- re-copying the rest of the input after each piece --------------------------------------


def test_field_decode_of_many_encoded_words() -> None:
    words = 300_000
    out = tcl_output(
        f"""
        set field [string repeat "=?UTF-8?Q?a?= " {words}]
        set decoded [mime::field_decode "$field=?ISO-8859-1?Q?=E9?= end"]
        puts [string length $decoded]
        puts [string range $decoded end-5 end]
        """,
        f"mime::field_decode of {words:,} encoded words",
    )
    # White space between encoded words goes.
    assert out == [str(words + 5), "a\u00e9", "end"]


def test_initialize_with_a_header_folded_over_many_lines() -> None:
    lines = 2 * MB  # 6 MB of continuation lines
    out = tcl_output(
        f"""
        set folded "Subject: x\\n[string repeat " y\\n" {lines}]"
        set tok [mime::initialize -string "${{folded}}To: z\\n\\nbody\\n"]
        set subject [lindex [mime::getheader $tok Subject] 0]
        puts [string length $subject]
        puts [string range $subject 0 3]|
        puts [mime::getheader $tok To]
        puts [mime::getbody $tok]
        """,
        f"mime::initialize with a header folded over {lines:,} lines",
    )
    # Continuation lines keep their line breaks, as in tcllib.
    assert out == [str(1 + 3 * lines), "x", "y|", "z", "body"]


def test_initialize_of_deeply_nested_multiparts() -> None:
    """Each multipart level used to read (and strip a CR from) every line of
    its body again: 240 levels around a 1,000,000-line leaf took minutes."""
    levels, lines = 240, MB
    out = tcl_output(
        f"""
        set heads {{}}
        set tails {{}}
        for {{set i 0}} {{$i < {levels}}} {{incr i}} {{
            append heads "Content-Type: multipart/mixed; boundary=b$i\\n\\n--b$i\\n"
            set tails "\\n--b$i--\\n$tails"
        }}
        set leaf "Content-Type: text/plain\\n\\n[string repeat "x\\r\\r\\n" {lines}]"
        set tok [mime::initialize -string "$heads$leaf$tails"]
        set depth 0
        while {{[mime::getproperty $tok content] ne "text/plain"}} {{
            set tok [lindex [mime::getproperty $tok parts] 0]
            incr depth
        }}
        set body [mime::getbody $tok]
        puts $depth
        puts [string length $body]
        puts [string length [string map [list \\r {{}}] $body]]
        """,
        f"mime::initialize of {levels} nested multiparts around {lines:,} lines",
    )
    # Each level strips one more CR from a line: both are gone in the leaf
    # ("x\n" per line; tcllib gives the same on a small copy).
    assert out == [str(levels), str(2 * lines), str(2 * lines)]


def test_qp_encode_of_one_long_line() -> None:
    size = 12 * MB
    out = tcl_output(
        f"""
        set text [mime::qp_encode [string repeat x {size}]]
        puts [string length $text]
        puts [string length [lindex [split $text \\n] 0]]
        """,
        "mime::qp_encode of a 12 MB line",
    )
    # Soft breaks after each 73 characters (the "=" is the 74th).
    assert out == [str(size + 2 * ((size - 1) // 73)), "74"]


def test_parameters_whose_names_collide_in_tcls_hash(tmp_path: Path) -> None:
    """Parameters are listed in Tcl's array order, which the bridge works out
    by replaying Tcl's hash table; names made to share one hash value (any
    mix of "az" and "bq" blocks) once made that quadratic (2^15: 12 s)."""
    names = ["".join(blocks) for blocks in itertools.product(("az", "bq"), repeat=17)]
    message = tmp_path / "params.eml"
    message.write_text("Content-Type: text/plain" + "".join(f"; {n}=v" for n in names) + "\n\nx\n")
    out = tcl_output(
        f"""
        set f [open {{{message}}} rb]
        set tok [mime::initialize -string [read $f]]
        close $f
        set params [mime::getproperty $tok params]
        puts [llength $params]
        puts [lindex $params 1]
        puts [regexp -all {{="v"}} [mime::buildmessage $tok]]
        """,
        f"{len(names):,} colliding Content-Type parameters",
        # Linear: 10-16 s alone here, 30 s and more on a loaded 2-core machine
        # (Tcl's own list and regexp work on 131,072 parameters); quadratic:
        # minutes (2^15 names took 12 s, so 2^17 about 190 s).
        limit=3 * LIMIT,
    )
    # (Tcl's own dicts and arrays are quadratic on such names: nothing here
    # makes one.)
    assert out == [str(2 * len(names)), "v", str(len(names))]


# -- parseaddress ------------------------------------------------------------------------------


def test_parseaddress_of_a_long_quoted_string_comment_and_literal() -> None:
    out = tcl_output(
        f"""
        set r [mime::parseaddress "\\"[string repeat a {3 * MB}]\\" <a@b.c>"]
        puts [dict get [lindex $r 0] address]
        puts [string length [dict get [lindex $r 0] friendly]]
        set r [mime::parseaddress "a@b.c ([string repeat c {MB}])"]
        puts [string length [dict get [lindex $r 0] comment]]
        set r [mime::parseaddress "a@\\[[string repeat 1 {MB}]\\]"]
        puts [string length [dict get [lindex $r 0] domain]]
        """,
        "mime::parseaddress of 5 MB of quoted string, comment and domain literal",
    )
    assert out == ["a@b.c", str(3 * MB), str(MB + 2), str(MB + 2)]


def test_parseaddress_of_many_recipients() -> None:
    count = 30_000
    out = tcl_output(
        f"""
        set list {{}}
        for {{set i 0}} {{$i < {count}}} {{incr i}} {{
            append list "User $i <user$i@example.com>,[string repeat " " 60]"
        }}
        set r [mime::parseaddress $list]
        puts [llength $r]
        puts [dict get [lindex $r end] proper]
        """,
        f"mime::parseaddress of {count:,} recipients",
    )
    assert out == [str(count), "User", str(count - 1), f"<user{count - 1}@example.com>"]


def test_parseaddress_of_many_words_dots_and_comments() -> None:
    count = 200_000
    out = tcl_output(
        f"""
        set r [mime::parseaddress "[string repeat "a " {count}]<x@y>"]
        puts [string length [dict get [lindex $r 0] phrase]]
        set r [mime::parseaddress "[string repeat "a." {count}]a@[string repeat "b." {count}]c"]
        puts [string length [dict get [lindex $r 0] address]]
        set r [mime::parseaddress "x@y[string repeat " (c)" {count}]"]
        puts [string length [dict get [lindex $r 0] comment]]
        """,
        "mime::parseaddress of 200,000 phrase words, dotted atoms and comments",
    )
    assert out == [str(2 * count - 1), str(4 * count + 3), str(4 * count - 1)]


def test_parseaddress_recurses_neither_on_empty_elements_nor_on_dotted_phrases() -> None:
    """tcllib recurses on each empty list element and on each "." of a phrase
    and fails past ~1000 (COMPAT parseaddress-depth); so did the bridge, with
    an internal RecursionError. Now a loop: any number parses."""
    out = tcl_output(
        """
        set r [mime::parseaddress "[string repeat , 100000]a@b.c[string repeat , 100000]"]
        puts [llength $r]
        puts [dict get [lindex $r 0] address]
        set r [mime::parseaddress "a b[string repeat ". c" 100000] <x@y>"]
        puts [dict get [lindex $r 0] address]
        puts [string length [dict get [lindex $r 0] phrase]]
        """,
        "mime::parseaddress of 100,000 empty elements and dots",
    )
    # The phrase "a b. c. c ..." is quoted, as it holds specials.
    assert out == ["1", "a@b.c", "x@y", str(len('"a b"') + 3 * 100_000)]


@pytest.mark.skipif(not HAVE_TCLSH, reason="needs tclsh and tcllib")
def test_parseaddress_loops_give_tcllibs_results_below_its_depth() -> None:
    script = """
    foreach s [list "[string repeat , 300]a@b.c" "a b[string repeat ". c" 300] <x@y>" \\
                    "x@y[string repeat " (c)" 300]" "a@b;;;" ",;,;a@b" "g: a@b, c@d;;, e" \\
                    "(x) a (y) @ (z) b (w) , (v) <c@d> (u)" "a@b@c@d" "<@a,,@b:c@d>"] {
        puts [mime::parseaddress $s]
    }
    """
    assert run_tcl(script, "parseaddress") == run_tclsh(script)


# -- setheader ---------------------------------------------------------------------------------


def test_setheader_append_many_values() -> None:
    """setheader returns the header's values before the call: the bridge
    converted all of them to a Tcl list on every call (20,000 appends:
    minutes); tcllib hands back the list it holds."""
    appends = 20_000
    out = tcl_output(
        f"""
        set tok [mime::initialize -canonical text/plain -string x]
        for {{set i 0}} {{$i < {appends}}} {{incr i}} {{
            set previous [mime::setheader $tok X-H "v $i" -mode append]
        }}
        puts [llength $previous]
        puts [lindex $previous end]|
        puts [llength [mime::getheader $tok X-H]]
        """,
        f"{appends:,} mime::setheader -mode append on one header",
    )
    assert out == [str(appends - 1), "v", f"{appends - 2}|", str(appends)]


@pytest.mark.skipif(not HAVE_TCLSH, reason="needs tclsh and tcllib")
def test_setheader_results_are_tcllibs_lists() -> None:
    """The list setheader returns is grown one append at a time: it must
    stay the string tcllib's list has, for every mode and awkward values."""
    script = r"""
    set tok [mime::initialize -canonical text/plain -string x]
    foreach v [list "#a" "" "a b" "\{" "\}" "x\\" {$y} {[z]} "#b" "q\"" "tab\tnl\n x" a] {
        puts [mime::setheader $tok X-H $v -mode append]
        puts [mime::setheader $tok x-h2 $v -mode append]
    }
    puts [mime::setheader $tok X-H "#w" -mode write]
    puts [mime::setheader $tok X-H "#c" -mode append]
    puts [mime::setheader $tok X-H z -mode delete]
    puts [mime::setheader $tok X-H "#d" -mode append]
    puts [mime::setheader $tok x-h2 e -mode append]
    """
    assert run_tcl(script, "setheader") == run_tclsh(script)


# -- capture ---------------------------------------------------------------------------------------


def test_capture_summary_of_a_huge_subject() -> None:
    """The capture server names each message's Subject; the standard
    library's header parser took a minute on a 400 KB one."""
    out = run_python(
        """
import smtplib, tempfile
from pathlib import Path
from tclbridge.capture import Capture

subject = b"=?utf-8?q?caf=C3=A9?= " * 200_000 + b"x " * 200_000
with tempfile.TemporaryDirectory() as tmp:
    cap = Capture(Path(tmp, "out"))
    try:
        host, port = cap.start()
        with smtplib.SMTP(host, port, local_hostname="c", timeout=20) as client:
            client.sendmail("a@x", ["b@y"], b"Subject: " + subject + b"\\r\\n\\r\\nbody\\r\\n")
    finally:
        cap.stop()
    print(cap.summary_lines()[0][:200])
""",
        "capture of a 5 MB Subject",
    )
    assert out.startswith("captured 0001.eml: from <a@x> to <b@y>, ")
    assert ", Subject: cafécafécafé" in out  # no space between adjacent encoded words


# -- tclbridge check's COMPAT labels -------------------------------------------------------------

# Each recogniser of differential.causes looks at a difference's whole values
# (a message body, all of a script's output) before check prints anything.
_LABELS = """
from tclbridge.differential.causes import explain
from tclbridge.differential.outcome import Difference, ObservedRun

def labels(tcllib, bridge, aspect="stdout", printed=""):
    run = ObservedRun(0, "", "", [], [])
    bridge_run = ObservedRun(0, printed, "", [], [])
    found = explain(run, bridge_run,
                    [Difference(aspect, "line 1", "", "", texts=(tcllib, bridge))])
    print(" ".join(found[0].causes) or "-")
"""


def labels_of(calls: str, what: str) -> list[str]:
    return run_python(_LABELS + calls, what).splitlines()


def test_check_labels_of_a_run_of_at_signs_after_a_brace() -> None:
    """bcc-failure looks for a refused recipient "{ADDRESS 5NN ": two runs
    that could split "@@@..." anywhere took 2.7 s for 20,000 (so minutes
    here)."""
    out = labels_of(
        f"""
labels("", "{{" + "@" * {2 * MB})
labels("", "{{" + "@" * {2 * MB} + " {{b@example.com 550 {{no such user}}}}", "messages")
""",
        "check's labels for a brace and 2 MB of @",
    )
    assert out == ["-", "bcc-failure"]


def test_check_labels_of_repeated_refusal_starts() -> None:
    """utf8-commands and lone-surrogate matched "START.* END": from each START
    the rest of the line was scanned (104 KB of starts: 1.1 s and 0.5 s; 4 MB
    here); so was "header(" before a ")" for setheader-atomic."""
    out = labels_of(
        f"""
labels("", "5.1.3 domain " * {MB // 4})
labels("", "5.1.3 domain " * {MB // 4} + "x is not a valid internationalized domain name (y)")
labels("", "lone surrogate U+D800" * {MB // 5})
labels("", "lone surrogate U+D800" * {MB // 5}
       + " in 'b@x' is not a character and cannot be sent", "messages")
labels('"header(' * {MB // 2}, "")
labels('"header(' * {MB // 2} + 'can\\'t read "header(content-type)": no such element in array',
       "")
""",
        "check's labels for 4 MB of repeated refusal starts",
    )
    assert out == ["-", "utf8-commands", "-", "lone-surrogate", "-", "setheader-atomic"]


def test_check_labels_of_long_address_runs() -> None:
    """utf8-commands finds the addresses tcllib sent as low bytes: a run of
    address characters without "@" is read once, not from each character."""
    refusal = "{{x@y 553 {{5.6.7 non-ASCII address needs SMTPUTF8}}}}"
    out = labels_of(
        f"""
labels("a" * {4 * MB}, "", "commands", "{refusal}")
labels("a" * {4 * MB} + " RCPT TO:<j\\udcfcrgen@example.com>", "", "commands", "{refusal}")
""",
        "check's labels for 4 MB of an address run",
    )
    assert out == ["-", "utf8-commands"]


def test_check_labels_of_a_long_list_of_header_names() -> None:
    """token-restored's "names tcllib added" removed each bridge name from a
    list (list.remove: 2.25 MB took 85 s); counted as multisets now."""
    out = labels_of(
        f"""
names = "headers: " + "X-Tag " * {400_000}
labels(names + "To From", names)
labels(names + "To Memo", names)
""",
        "check's labels for 400,000 header names",
    )
    assert out == ["token-restored", "-"]


def test_check_compares_long_output_line_by_line() -> None:
    """check compares what the runs printed line by line: difflib's matcher
    is quadratic on many equal lines (8,000: 16.6 s, so hours here)."""
    lines, gap = 200_000, 10_000
    out = run_python(
        f"""
from tclbridge.differential.compare import compare
from tclbridge.differential.outcome import ObservedRun

printed = [f"row {{n % 7}}\\n" for n in range({lines})]
tcllib = ObservedRun(0, "".join(printed), "", [], [])
bridge = ObservedRun(0, "".join(p for n, p in enumerate(printed) if n % {gap} != 5000), "", [], [])
for d in compare(tcllib, bridge):
    print(d.where, "|", d.actual)
""",
        f"check's comparison of {lines:,} printed lines",
    )
    # The bridge lacks every 10,000th line: each is one difference.
    assert out.splitlines() == [
        f"line {n + 1} | nothing (missing)" for n in range(5000, lines, gap)]


def test_check_pairs_many_sessions() -> None:
    """check pairs tcllib's sessions with the bridge's in order (a session
    only one run made is one difference): difflib's matcher was quadratic on
    equal ones (4,000: 3.3 s, so minutes here)."""
    sessions, gap = 30_000, 1_000
    out = run_python(
        f"""
from tclbridge.differential.compare import compare
from tclbridge.differential.outcome import ObservedRun

def session(n):
    return ["EHLO <CLIENT>", "MAIL FROM:<a@x.y>", f"RCPT TO:<r{{n % 3}}@x.y>", "DATA", "QUIT"]

tcllib = ObservedRun(0, "", "", [session(n) for n in range({sessions})], [])
bridge = ObservedRun(0, "", "", [session(n) for n in range({sessions}) if n % {gap} != 500], [])
for d in compare(tcllib, bridge):
    print(d.where, "|", d.actual)
""",
        f"check's pairing of {sessions:,} sessions",
    )
    # The bridge lacks every 1,000th: each is one difference.
    assert out.splitlines() == [
        f"number of SMTP sessions | {sessions - sessions // gap}",
        *(f"session {n + 1} | nothing (missing)" for n in range(500, sessions, gap))]
