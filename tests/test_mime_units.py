"""Unit tests of tclbridge.mime's modules (Python API, no Tcl commands).

Where an expected value is a tcllib output it comes from running tclsh, not
from this code.
"""

from __future__ import annotations

import os
import random
import re
import string
import subprocess
import tracemalloc

import pytest

from tclbridge.engine_errors import MimeError
from tclbridge.mime import (
    build_message,
    iter_message,
    new_part,
    now_proper,
    parse_address,
    parse_datetime,
    unique_id,
    validate_header_value,
)
from tclbridge.mime.layout import TCLLIB, LineScan, tcl_array_order
from tclbridge.mime.transfer_encodings import base64_encode, qp_decode, qp_encode, string_map
from tests.support.mime_harness import HAVE_TCLLIB, TCLLIB_QP_FIX, TCLSH
from tests.support.mime_normalise import fix_tcllib_170, mask

needs_tclsh = pytest.mark.skipif(not HAVE_TCLLIB, reason="needs tclsh and tcllib mime")


def tclsh(script: str) -> str:
    """Run `script` under tclsh with tcllib's mime; its stdout as Tcl chars."""
    driver = ("package require mime\n" + TCLLIB_QP_FIX
              + "fconfigure stdout -translation binary -encoding utf-8\n")
    out = subprocess.run(
        [TCLSH], input=(driver + script).encode(), capture_output=True, check=True
    ).stdout
    return out.decode("utf-8")


# -- layout ---------------------------------------------------------------------


@needs_tclsh
def test_tcl_array_order_matches_tcl() -> None:
    rng = random.Random(7)
    sets = [
        [
            "".join(rng.choice(string.ascii_lowercase + "-") for _ in range(rng.randint(1, 9)))
            for _ in range(rng.randint(1, 60))
        ]
        for _ in range(60)
    ]
    script = "".join(
        f"unset -nocomplain a; foreach k {{{' '.join(keys)}}} {{set a($k) 1}}\n"
        "puts [array names a]\n"
        for keys in sets
    )
    lines = tclsh(script).splitlines()
    for keys, line in zip(sets, lines, strict=True):
        assert tcl_array_order(keys) == line.split()


@pytest.mark.parametrize(
    "text",
    ["plain\nlines\n", "x" * 200, "a \nb", "\u00e9\n.", "From me\n", "ok\r\nok", "\u0141", ""],
)
def test_line_scan_does_not_depend_on_chunking(text: str) -> None:
    whole = LineScan(76)
    whole.feed(text)
    whole.close()
    for size in (1, 2, 3, 7):
        split = LineScan(76)
        for i in range(0, len(text), size):
            split.feed(text[i : i + size])
        split.close()
        assert (split.ascii, split.safe) == (whole.ascii, whole.safe)


# -- transfer encodings ----------------------------------------------------------


def test_string_map_is_one_left_to_right_pass() -> None:
    assert string_map("aaa", (("aa", "b"), ("a", "c"))) == "bc"
    assert string_map("\n.\n.\n", (("\n.\n", "X"),)) == "X.\n"


@pytest.mark.parametrize(
    "text", ["", "x", "caf\u00e9 = ok ", "\t", "a" * 300, "l1\nl2 \n", "=" * 100, "\x00\x7f\xff"]
)
def test_qp_roundtrip(text: str) -> None:
    assert qp_decode(qp_encode(text)) == text.replace(" \n", " \n")
    assert all(len(line) <= 76 for line in qp_encode(text).split("\n"))


@needs_tclsh
def test_qp_and_base64_match_tcllib_on_random_text() -> None:
    rng = random.Random(3)
    alphabet = "ab =\t\n.F" + "".join(map(chr, range(0, 256, 7)))
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))) for _ in range(40)]
    script = "package require base64\n"
    for s in samples:
        literal = "".join(f"\\u{ord(c):04x}" for c in s)
        script += f'set s "{literal}"\n'
        for call in ("mime::qp_encode $s", "mime::qp_encode $s 1", "base64::encode $s"):
            script += f"puts [binary encode hex [encoding convertto utf-8 [{call}]]]\n"
    lines = iter(tclsh(script).split())
    for s in samples:
        qp, qpw, b64 = (bytes.fromhex(next(lines)).decode("utf-8") for _ in range(3))
        assert qp_encode(s) == qp
        assert qp_encode(s, True) == qpw
        assert base64_encode(s) == b64


def test_unique_id_format_and_counter() -> None:
    first, second = unique_id(), unique_id()
    pid, clock, n = first[1:].split("@")[0].split(".")
    assert first.startswith("<") and first.endswith(">")
    assert pid == str(os.getpid()) and clock.isdigit()
    assert int(second.split(".")[2].split("@")[0]) == int(n) + 1


# -- address / datetime -----------------------------------------------------------


@needs_tclsh
@pytest.mark.parametrize(
    "text", ["Joe <joe@x.org>", "a@b, bad <", "grp: a@b;", "(c) x@y", "u", '"A.B" <a@b>']
)
def test_parse_address_matches_tcllib(text: str) -> None:
    from tkinter import Tcl

    out = tclsh(f"puts [mime::parseaddress {{{text}}}]\nputs [info hostname]").splitlines()
    tk = Tcl().tk
    expected = [dict(zip(*[iter(tk.splitlist(x))] * 2, strict=True)) for x in tk.splitlist(out[0])]
    assert parse_address(text, out[1]) == expected


def test_parse_address_reports_errors_in_property() -> None:
    [result] = parse_address("x@y junk")
    assert result["error"].startswith("junk after local@domain")


@needs_tclsh
def test_now_proper_matches_tcllib_format() -> None:
    theirs = tclsh("puts [mime::parsedatetime -now proper]").strip()
    ours = now_proper()
    shape = r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$"
    assert re.match(shape, theirs) and re.match(shape, ours)
    assert ours[:16] == theirs[:16] or ours[-5:] == theirs[-5:]  # same day (unless midnight)
    assert ours[-5:] == theirs[-5:]


def test_parse_datetime_errors() -> None:
    with pytest.raises(MimeError, match="unknown property bogus"):
        parse_datetime("Tue, 15 Nov 1994 08:12:31 GMT", "bogus")
    with pytest.raises(MimeError, match="unrecognized timezone-mnemonic"):
        parse_datetime("Tue, 15 Nov 1994 08:12:31 XYZ", "zone", clock_scan=lambda s, g: 0)


# -- model ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["a\nB: c", "a\r\nB: c", "a\rb", "end\n", "x\r\n"],
)
def test_header_injection_is_refused(value: str) -> None:
    with pytest.raises(MimeError, match="header injection"):
        validate_header_value("Subject", value)
    part = new_part(canonical="text/plain", string="x")
    with pytest.raises(MimeError, match="header injection"):
        part.set_header("Subject", value)
    assert not part.has_header("Subject")
    with pytest.raises(MimeError, match="header injection"):
        new_part(canonical="text/plain", string="x", headers=[("Subject", value)])


@pytest.mark.parametrize("value", ["plain", "folded\r\n more", "folded\n\tmore", ""])
def test_folded_header_values_are_allowed(value: str) -> None:
    validate_header_value("Subject", value)


def test_header_api() -> None:
    part = new_part(canonical="text/plain", string="x", headers=[("X-A", "1"), ("x-a", "2")])
    assert part.header_names() == ["X-A", "Content-ID"]
    assert part.get_header("x-A") == ["1", "2"]
    assert part.get_header("Content-Type") == ["text/plain"]
    assert part.get_header("MIME-Version") == ["1.0"]
    assert part.get_header("Content-Transfer-Encoding") == []
    with pytest.raises(MimeError, match="^key X-B not in header$"):
        part.get_header("X-B")
    assert part.set_header("X-A", "3", "append") == ["1", "2"]
    assert part.set_header("x-a", "4") == ["1", "2", "3"]
    assert part.set_header("X-A", "", "delete") == ["4"]
    assert not part.has_header("X-A")
    with pytest.raises(MimeError, match="^key Content-Type may not be set$"):
        part.set_header("Content-Type", "text/html")
    part.set_header("Content-Type", "text/html", internal=True)
    with pytest.raises(MimeError, match="^unknown value for -mode x$"):
        part.set_header("X", "y", "x")


def test_copy_top_keeps_the_original_untouched() -> None:
    child = new_part(canonical="text/plain", string="body")
    top = new_part(canonical="multipart/mixed", parts=[child], headers=[("Subject", "s")])
    before = build_message(top)
    twin = top.copy_top()
    twin.set_header("From", "me@x")
    twin.set_header("Subject", "changed")
    assert top.header_names() == ["Subject", "Content-ID"]
    assert top.get_header("Subject") == ["s"]
    assert twin.parts[0] is child
    assert build_message(top) == before
    assert b"From: me@x" in build_message(twin)


def test_new_part_errors_are_tcllibs() -> None:
    with pytest.raises(MimeError, match="^-canonical text/plain and -parts do not mix$"):
        new_part(canonical="text/plain", parts=[])
    with pytest.raises(MimeError, match="^use -canonical instead of -header Content-Type x$"):
        new_part(canonical="text/plain", string="", headers=[("Content-Type", "x")])
    with pytest.raises(MimeError, match="^unknown value for -encoding $"):
        new_part(canonical="text/plain", string="", encoding="x-uu")


@needs_tclsh
def test_bcc_digest_built_in_python_matches_tcllib() -> None:
    script = r"""
set orig [mime::initialize -canonical text/plain -string "Hello\n.\nBye" -header {Subject Hi}]
set wrap [mime::initialize -canonical message/rfc822 \
    -header {Content-Description {Original Message}} -parts [list $orig]]
set d [mime::initialize -canonical multipart/digest -header {From a@b} -header {Bcc {}} \
    -header {Date {Mon, 1 Jan 2024 00:00:00 +0000}} -header {Subject {[Bcc] Hi}} \
    -header {Message-ID <1.2.3@h>} -header {Content-Description {Blind Carbon Copy}} \
    -parts [list $wrap]]
puts -nonewline [mime::buildmessage $d]
"""
    expected = mask(fix_tcllib_170(tclsh(script)))
    orig = new_part(canonical="text/plain", string="Hello\n.\nBye", headers=[("Subject", "Hi")])
    wrap = new_part(
        canonical="message/rfc822",
        headers=[("Content-Description", "Original Message")],
        parts=[orig],
    )
    digest = new_part(
        canonical="multipart/digest",
        headers=[
            ("From", "a@b"), ("Bcc", ""), ("Date", "Mon, 1 Jan 2024 00:00:00 +0000"),
            ("Subject", "[Bcc] Hi"), ("Message-ID", "<1.2.3@h>"),
            ("Content-Description", "Blind Carbon Copy"),
        ],
        parts=[wrap],
    )
    assert mask(build_message(digest).decode("latin-1")) == expected


# -- generator ----------------------------------------------------------------------


def test_iter_message_streams_a_large_file(tmp_path) -> None:
    size = 20 * 1024 * 1024
    path = tmp_path / "big.bin"
    with open(path, "wb") as handle:
        block = os.urandom(1024 * 1024)
        for _ in range(20):
            handle.write(block)
    part = new_part(canonical="application/octet-stream", file=str(path))
    tracemalloc.start()
    try:
        total = 0
        chunks = 0
        for chunk in iter_message(part):
            total += len(chunk)
            chunks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > size * 4 // 3  # base64 of it, and more
    assert chunks > 20  # yielded as it went, in large pieces
    assert total / chunks > 32 * 1024
    assert peak < size / 10


def test_build_message_file_bodies_match_piecewise_encoding(tmp_path) -> None:
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 500
    path.write_bytes(data)
    part = new_part(canonical="application/octet-stream", file=str(path), encoding="base64")
    body = build_message(part).split(b"\r\n\r\n", 1)[1]
    pieces = [data[i : i + TCLLIB.file_piece] for i in range(0, len(data), TCLLIB.file_piece)]
    assert body == "".join(base64_encode(p) for p in pieces).replace("\n", "\r\n").encode()


def test_missing_file_error_is_tcls(tmp_path) -> None:
    part = new_part(canonical="text/plain", file=str(tmp_path / "nope"), encoding="7bit")
    with pytest.raises(MimeError, match='^couldn\'t open ".*nope": no such file or directory$'):
        build_message(part)


@needs_tclsh
def test_charset_decoding_is_as_lenient_as_tcl() -> None:
    # Tcl's `encoding convertfrom` never fails: word_encode/field_decode of
    # bytes that are not valid in the charset must give what tcllib gives.
    from tclbridge.mime.charsets import tcl_decode

    cases = [("utf-8", "c3bc"), ("utf-8", "fc"), ("utf-8", "e282"), ("utf-8", "c080"),
             ("utf-8", "f4908080"), ("utf-8", "41e282ac42"), ("ascii", "80"),
             ("iso8859-8", "a1"), ("cp1252", "81"), ("iso8859-1", "ff")]
    script = "".join(
        f"puts [binary encode hex [encoding convertto utf-8"
        f" [encoding convertfrom {enc} [binary decode hex {data}]]]]\n"
        for enc, data in cases
    )
    expected = [bytes.fromhex(line).decode("utf-8") for line in tclsh(script).split()]
    actual = [tcl_decode(enc, bytes.fromhex(data).decode("latin-1")) for enc, data in cases]
    assert actual == expected
