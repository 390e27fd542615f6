"""Differential tests of parsing: the same Tcl snippets under tcllib (tclsh)
and tclbridge, each message parsed from a string and from a file.

tcllib 1.7.0 appends a "]" to every header line that ends in CR (a typo in
its parser; see docs/COMPAT.md), so the reference runs with that one typo
fixed in a private copy of its source.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.mime_harness import (
    HARNESS,
    HAVE_TCLLIB,
    TCLLIB_MIME,
    TCLLIB_QP_FIX,
    TCLSH,
    run_bridge,
)
from tests.support.mime_normalise import fix_tcllib_170, mask

pytestmark = pytest.mark.skipif(not HAVE_TCLLIB, reason="needs tclsh and tcllib mime")

DUMP = r"""
proc dump {t} {
    set r [list $t [catch {mime::getproperty $t} e] $e [catch {mime::getheader $t} e] $e]
    lappend r [catch {mime::getheader $t -names} e] $e
    if {[catch {mime::getproperty $t parts} kids]} {
        lappend r [catch {mime::getbody $t} e] $e [catch {mime::getbody $t -decode} e] $e
    } else {
        foreach k $kids { lappend r [dump $k] }
    }
    return $r
}
proc parse {mode raw} {
    if {$mode eq "file"} {
        mkfile msg.eml $raw
        return [mime::initialize -file msg.eml]
    }
    return [mime::initialize -string $raw]
}
"""

CASES: dict[str, str] = {}

# Messages as Tcl double-quoted strings.
MESSAGES: dict[str, str] = {
    "simple-lf": r"Subject: hi\nFrom: a@b\nTo: c@d\n\nbody line\nsecond\n",
    "simple-crlf": r"Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\nline\r\n",
    "no-headers": r"\nbody only\n",
    "no-blank-line": r"Subject: x\nX-Other: y",
    "empty": "",
    "only-cr-line": r"Subject: x\r\n\r\n",
    "folded": r"Subject: one\n  two\n\tthree\nX-A: b\n\nbody",
    "leading-continuation": r" leading\nSubject: x\n\nb",
    "improper-line": r"NoColonHere\n\nbody",
    "empty-name": r": value\n\nbody",
    "name-spaces": r"X-Sp  : v  \n\nb",
    "mbox-from": r"From someone Mon Jan  1 00:00:00 2024\nSubject: s\n\nb",
    "two-content-types": r"Content-Type: text/plain\nContent-Type: text/html\n\nx",
    "bad-then-good-type": r"Content-Type: text\nContent-Type: text/html\n\nx",
    "cte-same-twice": r"Content-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: 7BIT\n\nx",
    "cte-conflict": r"Content-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: base64\n\nx",
    "type-garbage": r"Content-Type: text\n\nx",
    "type-message-only": r"Content-Type: message\n\nSubject: in\n\ninner",
    "type-comments": "Content-Type: Text/Plain (comment (nested)) ; CharSet=\\\"utf-8\\\" ;"
    r" format=flowed\n\nx",
    "type-bad-param": r"Content-Type: text/plain; charset\n\nx",
    "type-unterminated-quote": "Content-Type: text/plain; charset=\\\"utf-8\\n\\nx",
    "md5-version": r"Content-MD5: abc\nMIME-Version: 2.0\nSubject: s\n\nx",
    "received-twice": r"Received: a\nreceived: b\nRECEIVED: c\n\nx",
    "unicode-header": "Subject: caf\\u00e9\\n\\nb\\u00f6dy",
    "eight-bit-body": "Content-Type: text/plain; charset=iso-8859-1\\n\\n"
    "[binary format c* {99 97 102 233 10}]",
    "utf8-body": "Content-Type: text/plain; charset=utf-8\\n\\n"
    "[encoding convertto utf-8 gr\\u00fc\\u00dfe]",
    "unknown-charset": r"Content-Type: text/plain; charset=x-nope\n\nbody",
    "base64-body": r"Content-Transfer-Encoding: base64\n\naGVsbG8g\nd29ybGQ=\n",
    "base64-invalid": r"Content-Transfer-Encoding: base64\n\n!!!aGVs*bG8=\nxx",
    "base64-no-pad": r"Content-Transfer-Encoding: base64\n\naGVsbG8",
    "qp-body": r"Content-Transfer-Encoding: quoted-printable\n\na=3Db=\nc =E9\nbad=zz=4\n",
    "unknown-cte": r"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n",
    "image": r"Content-Type: image/gif\n\nGIF89a",
    "long-lines": "Subject: s\\n\\n[string repeat x 200]\\n.dot\\nFrom me\\n",
    "huge-header": "Subject: [string repeat y 100000]\\n\\nb",
    "many-headers": "[string repeat {X-H: v\\n} 2000]\\nb",
    "multipart-basic": r"Content-Type: multipart/mixed; boundary=zz\nSubject: m\n\n"
    r"preamble\n--zz\nContent-Type: text/plain\n\none\n--zz\n\ntwo\n--zz--\nepilogue\n",
    "multipart-crlf": r"Content-Type: multipart/mixed; boundary=\"b 1\"\r\n\r\n--b 1\r\n"
    r"Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--b 1\r\n"
    r"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b 1--\r\n",
    "multipart-nested": r"Content-Type: multipart/mixed; boundary=outer\n\n--outer\n"
    r"Content-Type: multipart/alternative; boundary=inner\n\n--inner\n"
    r"Content-Type: text/plain\n\nplain\n--inner\nContent-Type: text/html\n\n<b>h</b>\n"
    r"--inner--\n--outer\nContent-Type: application/octet-stream\n"
    r"Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=a.bin\n\n"
    r"AAEC/w==\n--outer\nContent-Type: message/rfc822\n\nSubject: inner\nFrom: x@y\n\n"
    r"inner body\n--outer--\n",
    "multipart-no-boundary": r"Content-Type: multipart/mixed\n\n--x\n\na\n--x--\n",
    "multipart-empty-boundary": "Content-Type: multipart/mixed; boundary=\\\" \\\"\\n\\nx\\n",
    "multipart-truncated": r"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\npart one\n",
    "multipart-no-parts": r"Content-Type: multipart/mixed; boundary=zz\n\njust text\n",
    "multipart-close-first": r"Content-Type: multipart/mixed; boundary=zz\n\n--zzjunk\n"
    r"--zz--\nafter\n",
    "multipart-close-first-colon": r"Content-Type: multipart/mixed; boundary=a:b\n\n"
    r"--a:b--\n",
    "multipart-boundary-prefix": r"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\n"
    r"a\n--zzz\nb\n--zz--\n",
    "multipart-part-no-blank": r"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n"
    r"X-Only: header\n--zz--\n",
    "multipart-bad-part": r"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n"
    r"bad line\n\nx\n--zz--\n",
    "multipart-empty-parts": r"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n--zz\n"
    r"--zz--\n",
    "message-base64": r"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
    r"U3ViamVjdDogaW5uZXIKCmJvZHkK\n",
    "message-qp": r"Content-Type: message/rfc822\nContent-Transfer-Encoding: quoted-printable\n"
    r"\nSubject: q=3D\n\nbody=\n more\n",
    "message-nested": r"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n"
    r"Subject: deepest\n\nbody\n",
}

for _name, _raw in MESSAGES.items():
    for _mode in ("string", "file"):
        CASES[f"{_name}-{_mode}"] = (
            f'set m [parse {_mode} "{_raw}"]\n'
            "list [dump $m] [catch {mime::buildmessage $m} e] $e"
        )

# -- getbody streaming, finalize, copymessage -------------------------------------
CALLBACK = r"""
proc cb {args} { lappend ::calls $args; if {[lindex $args 0] eq "end"} { return END } }
proc failing {args} {
    lappend ::calls $args
    if {[lindex $args 0] eq "data"} { error boom }
    return [list handled $args]
}
set ::calls {}
"""
for _mode in ("string", "file"):
    CASES[f"getbody-command-{_mode}"] = CALLBACK + (
        f'set m [parse {_mode} "Subject: s\\n\\n[string repeat abcdefg 10]"]\n'
        "list [mime::getbody $m -command cb -blocksize 16] $::calls"
    )
    CASES[f"getbody-command-base64-{_mode}"] = CALLBACK + (
        f'set m [parse {_mode} "Content-Transfer-Encoding: base64\\n\\n'
        '[string repeat aGVsbG8gd29ybGQK\\n 20]"]\n'
        "list [mime::getbody $m -command cb -blocksize 7] $::calls "
        "[mime::getbody $m -blocksize 5]"
    )
    CASES[f"getbody-command-error-{_mode}"] = CALLBACK + (
        f'set m [parse {_mode} "Subject: s\\n\\nhello world"]\n'
        "list [catch {mime::getbody $m -command failing -blocksize 4} e] $e $::calls"
    )
    CASES[f"getbody-bad-base64-command-{_mode}"] = CALLBACK + (
        f'set m [parse {_mode} "Content-Transfer-Encoding: base64\\n\\naGVsb"]\n'
        "list [catch {mime::getbody $m -command cb} e] $e $::calls"
    )
    CASES[f"getbody-decode-{_mode}"] = (
        f'set m [parse {_mode} "Content-Type: text/plain; charset=utf-8\\n'
        'Content-Transfer-Encoding: base64\\n\\nw6lsw6h2ZQ=="]\n'
        "list [mime::getbody $m] [mime::getbody $m -decode] [mime::getproperty $m size]"
    )
    CASES[f"finalize-dynamic-{_mode}"] = (
        f'set m [parse {_mode} "{MESSAGES["multipart-nested"]}"]\n'
        "set kids [mime::getproperty $m parts]\n"
        "mime::finalize $m\n"
        "list $kids [catch {mime::getproperty [lindex $kids 0]} e] $e"
    )
    CASES[f"finalize-none-{_mode}"] = (
        f'set m [parse {_mode} "{MESSAGES["multipart-basic"]}"]\n'
        "set kids [mime::getproperty $m parts]\n"
        "mime::finalize $m -subordinates none\n"
        "list [mime::getproperty [lindex $kids 0]] [mime::getbody [lindex $kids 1]]"
    )
    CASES[f"finalize-child-first-{_mode}"] = (
        f'set m [parse {_mode} "{MESSAGES["multipart-basic"]}"]\n'
        "mime::finalize [lindex [mime::getproperty $m parts] 0]\n"
        "list [catch {mime::finalize $m} e] $e [catch {mime::buildmessage $m} e] $e"
    )
    CASES[f"copymessage-{_mode}"] = (
        f'set m [parse {_mode} "{MESSAGES["multipart-nested"]}"]\n'
        "set ch [open out.eml w]\nmime::copymessage $m $ch\nclose $ch\nreadbin out.eml"
    )
    CASES[f"setheader-parsed-{_mode}"] = (
        f'set m [parse {_mode} "Subject: a\\nX-Y: b\\n\\nbody"]\n'
        "mime::setheader $m Subject new\nmime::setheader $m X-Y c -mode append\n"
        "list [mime::getheader $m] [mime::buildmessage $m]"
    )
    CASES[f"deep-nesting-{_mode}"] = (
        "set s {}\nfor {set i 0} {$i < 40} {incr i} {\n"
        '    append s "Content-Type: multipart/mixed; boundary=b$i\\n\\n--b$i\\n"\n}\n'
        'append s "\\nleaf\\n"\nfor {set i 39} {$i >= 0} {incr i -1} { append s "--b$i--\\n" }\n'
        f"set m [parse {_mode} $s]\n"
        "set t $m\nwhile {![catch {mime::getproperty $t parts} k]} { set t [lindex $k 0] }\n"
        "list $t [mime::getbody $t] [string length [mime::buildmessage $m]]"
    )
CASES["file-missing"] = "mime::initialize -file nosuch.eml"
CASES["tokens-after-parse"] = (
    'set a [mime::initialize -string "Subject: x\\n\\nb"]\n'
    "catch {mime::initialize -string \"bad\\n\\nx\"}\n"
    "set b [mime::initialize -canonical text/plain -string y]\nlist $a $b"
)


def run_reference(script: str, workdir: Path) -> str:
    """tclsh with tcllib's mime, its CR typo fixed in a private copy."""
    (workdir / "snippet.tcl").write_text(DUMP + script, encoding="utf-8")
    driver = HARNESS + f"""
package require mime
set f [open {{{TCLLIB_MIME}}}]; set __src [read $f]; close $f
eval [string map [list {{$x-2]]}} {{$x-2]}}] $__src]
""" + TCLLIB_QP_FIX + """
set f [open snippet.tcl]; fconfigure $f -encoding utf-8; set __s [read $f]; close $f
set __r [__run $__s]
fconfigure stdout -translation binary
puts -nonewline [encoding convertto utf-8 $__r]
"""
    proc = subprocess.run(
        [TCLSH or "tclsh"], input=driver.encode(), capture_output=True, cwd=workdir, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode("utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_parse_matches_tcllib(name: str, tmp_path: Path) -> None:
    script = CASES[name]
    ref_dir, our_dir = tmp_path / "ref", tmp_path / "our"
    ref_dir.mkdir()
    our_dir.mkdir()
    expected = mask(fix_tcllib_170(run_reference(script, ref_dir)))
    actual = mask(run_bridge(DUMP + script, our_dir))
    assert actual == expected
