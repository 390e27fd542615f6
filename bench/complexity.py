"""`python -m bench.complexity`: how each parser and codec grows with hostile input.

Every case builds an input of size n (a run of blanks, a header folded over
many lines, a long quoted string...), times the parser or codec on it, then
does the same at 8n. Linear code shows a ratio near 8, quadratic near 64.
Each measurement runs in a child process with a time limit, so a quadratic
case costs at most that long and is shown as "> LIMIT s".

    python -m bench.complexity                 # every case at its own n
    python -m bench.complexity --scale 0.1     # all sizes ten times smaller
    python -m bench.complexity --only qp_ --tcllib   # and the same Tcl under tclsh

With `--tcllib`, cases that have a Tcl form also run it under `tclsh` with
Debian's tcllib, for comparison (tcllib's own complexity, not ours).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    name: str
    n: int  # default size (characters, lines, items: see `what`)
    what: str
    make: Callable[[int], str]
    run: Callable[[str], object]
    tcl: str | None = None  # the same work in Tcl, on the variable `input`


def _folded(n: int) -> str:
    return "Subject: x\n" + " y\n" * n + "\nbody\n"


def _multipart(n: int) -> str:
    part = "--b\nContent-Type: text/plain\n\nx\n"
    return 'Content-Type: multipart/mixed; boundary="b"\n\n' + part * n + "--b--\n"


def _nested(n: int) -> str:
    """n multipart levels around one 200,000-line leaf: the message hardly
    grows with n, so linear code takes the same time at n and 8n."""
    leaf = "Content-Type: text/plain\n\n" + "x\r\n" * 200_000
    heads = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(n))
    return heads + leaf + "".join(f"\n--b{i}--\n" for i in reversed(range(n)))


def _qp_part(n: int) -> str:
    return "Content-Transfer-Encoding: quoted-printable\n\n" + " " * n + "x\n"


def _params(n: int) -> str:
    return "Content-Type: text/plain" + "".join(f"; p{i}=v" for i in range(n)) + "\n\nx\n"


def _colliding_params(n: int) -> str:
    """n parameter names with one hash value in Tcl's tables: "az" and "bq"
    add the same to it, so any string of them of one length collides."""
    width = max(1, (n - 1).bit_length())
    names = (f"{i:0{width}b}".replace("0", "az").replace("1", "bq") for i in range(n))
    return "Content-Type: text/plain" + "".join(f"; {name}=v" for name in names) + "\n\nx\n"


def _labels(tcllib: str, bridge: str) -> tuple[str, ...]:
    """The COMPAT labels `tclbridge check` finds for one stdout difference
    (every recogniser of differential.causes looks at both values)."""
    from tclbridge.differential.causes import explain
    from tclbridge.differential.outcome import Difference, ObservedRun

    run = ObservedRun(0, "", "", [], [])
    difference = Difference("stdout", "line 1", "", "", texts=(tcllib, bridge))
    return explain(run, run, [difference])[0].causes


def _paired(count: str, sessions: bool) -> int:
    """`tclbridge check`'s comparison of two runs that made `count` equal
    sessions (or delivered equal messages), but for every 100th that only
    tcllib's run made: how many differences."""
    from tclbridge.differential.compare import compare
    from tclbridge.differential.outcome import Delivered, ObservedRun

    def run(skip: bool) -> ObservedRun:
        kept = [n for n in range(int(count)) if not (skip and n % 100 == 50)]
        if sessions:
            return ObservedRun(0, "", "", [["EHLO <CLIENT>", f"RCPT TO:<r{n % 3}@x.y>", "QUIT"]
                                       for n in kept], [])
        return ObservedRun(0, "", "", [], [Delivered("a@x.y", [f"r{n % 3}@x.y"], [], b"\r\nhi\r\n")
                                       for n in kept])
    return len(compare(run(False), run(True)))


def _printed(count: str) -> int:
    """`tclbridge check`'s comparison of what two runs printed: `count` lines
    of seven kinds, but for every 100th that only tcllib's run printed: how
    many differences."""
    from tclbridge.differential.compare import compare
    from tclbridge.differential.outcome import ObservedRun

    lines = [f"row {n % 7}\n" for n in range(int(count))]
    bridge = "".join(line for n, line in enumerate(lines) if n % 100 != 50)
    return len(compare(ObservedRun(0, "".join(lines), "", [], []),
                       ObservedRun(0, bridge, "", [], [])))


_APPENDS = """set tok [mime::initialize -canonical text/plain -string x]
for {set i 0} {$i < $input} {incr i} { mime::setheader $tok X-H v$i -mode append }"""


def _cases() -> list[Case]:
    from tclbridge.mime import address, generator, layout, model, transfer_encodings
    from tclbridge.mime.initialize import configure, new_part
    from tclbridge.scan import analyse
    from tclbridge.smtp import protocol
    from tclbridge.tclsource import parse_script

    def initialize(text: str) -> model.Part:
        return configure([("-string", text)])

    def body(text: str) -> str:
        return "".join(initialize(text).iter_body(4096))

    def params(text: str) -> list[str]:
        return initialize(text).param_list()

    def lines_in_packets(text: str) -> int:
        buffer, lines = protocol.LineBuffer(), 0
        data = text.encode("latin-1")
        for start in range(0, len(data), 512):
            lines += len(buffer.feed(data[start : start + 512]))
        return lines

    def reply_lines(text: str) -> object:
        reply_parser, reply = protocol.ReplyParser(), None
        for line in text.split("\n"):
            reply = reply_parser.feed(line) or reply
        return reply

    bridges: list[object] = []

    def bridge_eval(script: str) -> str:
        """`script` in one tclbridge interpreter (made on first use, untimed
        after that): for work whose cost is in the Tcl commands themselves."""
        from tclbridge.interp import Interp

        if not bridges:
            bridges.append(Interp())
            bridges[0].eval("package require mime")  # type: ignore[attr-defined]
        return bridges[0].eval(script)  # type: ignore[attr-defined]

    def build(text: str) -> bytes:
        return generator.build_message(
            new_part(canonical="text/plain", string=text, headers=[("Subject", "x")])
        )

    def scan_lines(text: str) -> tuple[bool, bool]:
        scan = layout.LineScan(76)
        scan.feed(text)
        scan.close()
        return scan.ascii, scan.safe

    host = "example.com"
    cases = [
        Case("qp_decode spaces", 400_000, "blanks", lambda n: " " * n,
             transfer_encodings.qp_decode, "mime::qp_decode $input"),
        Case("qp_decode tabs then text", 400_000, "chars", lambda n: "\t" * n + "x",
             transfer_encodings.qp_decode, "mime::qp_decode $input"),
        Case("qp_decode soft breaks", 400_000, "breaks", lambda n: "a=\n" * n,
             transfer_encodings.qp_decode, "mime::qp_decode $input"),
        Case("qp_decode =XX", 400_000, "escapes", lambda n: "=41" * n,
             transfer_encodings.qp_decode, "mime::qp_decode $input"),
        Case("qp_encode one long line", 2_000_000, "chars", lambda n: "x" * n,
             transfer_encodings.qp_encode, "mime::qp_encode $input"),
        Case("qp_encode spaces", 2_000_000, "blanks", lambda n: " " * n,
             transfer_encodings.qp_encode, "mime::qp_encode $input"),
        Case("qp_encode encoded_word", 1_000_000, "chars", lambda n: "a b=" * (n // 4),
             lambda s: transfer_encodings.qp_encode(s, True), "mime::qp_encode $input 1"),
        Case("base64_decode junk", 2_000_000, "chars", lambda n: "!" * n + "QUJD",
             transfer_encodings.base64_decode),
        Case("word_decode Q spaces", 400_000, "blanks",
             lambda n: "=?UTF-8?Q?" + " " * n + "?=", transfer_encodings.word_decode,
             "mime::word_decode $input"),
        Case("word_decode B", 2_000_000, "chars",
             lambda n: "=?UTF-8?B?" + "QUJD" * (n // 4) + "?=", transfer_encodings.word_decode,
             "mime::word_decode $input"),
        Case("field_decode Q spaces", 400_000, "blanks",
             lambda n: "x =?UTF-8?Q?" + " " * n + "?= y", transfer_encodings.field_decode,
             "mime::field_decode $input"),
        Case("field_decode many words", 100_000, "words",
             lambda n: "=?UTF-8?Q?a?= " * n, transfer_encodings.field_decode,
             "mime::field_decode $input"),
        Case("field_decode unclosed words", 100_000, "words",
             lambda n: "=?UTF-8?Q?a " * n, transfer_encodings.field_decode,
             "mime::field_decode $input"),
        Case("word_encode quoted-printable", 100_000, "chars", lambda n: "a b=" * (n // 4),
             lambda s: transfer_encodings.word_encode("utf-8", "quoted-printable", s),
             "mime::word_encode utf-8 quoted-printable $input"),
        Case("initialize folded header", 200_000, "continuation lines", _folded,
             initialize, "mime::initialize -string $input"),
        Case("initialize many headers", 200_000, "headers",
             lambda n: "X-A: b\n" * n + "\nbody\n", initialize,
             "mime::initialize -string $input"),
        Case("initialize long header line", 2_000_000, "chars",
             lambda n: "Subject: " + "x" * n + "\n\nbody\n", initialize,
             "mime::initialize -string $input"),
        Case("initialize multipart", 50_000, "parts", _multipart, initialize,
             "mime::initialize -string $input"),
        Case("initialize nested multiparts", 30, "levels", _nested, initialize,
             "mime::initialize -string $input"),
        Case("initialize Content-Type params", 50_000, "params", _params, params,
             "mime::getproperty [mime::initialize -string $input] params"),
        Case("initialize colliding parameter names", 2**13, "params", _colliding_params, params,
             "mime::getproperty [mime::initialize -string $input] params"),
        Case("initialize Content-Type comment", 1_000_000, "chars",
             lambda n: "Content-Type: text/plain (" + "c" * n + ")\n\nx\n", initialize,
             "mime::initialize -string $input"),
        Case("getbody quoted-printable spaces", 400_000, "blanks", _qp_part, body,
             "mime::getbody [mime::initialize -string $input]"),
        Case("setheader -mode append", 4_000, "appends", str,
             lambda n: bridge_eval(_APPENDS.replace("$input", n)), _APPENDS),
        Case("parseaddress quoted string", 200_000, "chars",
             lambda n: '"' + "a" * n + '" <a@b.c>', lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("parseaddress comment", 200_000, "chars",
             lambda n: "a@b.c (" + "c" * n + ")", lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("parseaddress domain literal", 200_000, "chars",
             lambda n: "a@[" + "1" * n + "]", lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("parseaddress recipients", 20_000, "addresses",
             lambda n: "a@b.c, " * n, lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("parseaddress phrase words", 50_000, "words",
             lambda n: "a " * n + "<a@b.c>", lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("parseaddress dotted local part", 50_000, "atoms",
             lambda n: "a." * n + "a@b.c", lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("parseaddress dotted domain", 50_000, "atoms",
             lambda n: "a@" + "b." * n + "c", lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("parseaddress comments", 20_000, "comments",
             lambda n: "a@b.c" + " (c)" * n, lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("parseaddress route", 50_000, "hops",
             lambda n: "<" + "@a," * n + "@b:c@d>", lambda s: address.parse_address(s, host),
             "mime::parseaddress $input"),
        Case("buildmessage long body line", 2_000_000, "chars", lambda n: "x" * n, build,
             "mime::buildmessage [mime::initialize -canonical text/plain -string $input]"),
        Case("encoding scan", 4_000_000, "chars", lambda n: "a \n" * (n // 3), scan_lines),
        Case("smtp LineBuffer one line in packets", 4_000_000, "bytes",
             lambda n: "x" * n + "\n", lines_in_packets),
        Case("smtp LineBuffer many lines", 4_000_000, "bytes",
             lambda n: "250-x\n" * (n // 6) + "250 x\n", lines_in_packets),
        Case("smtp ReplyParser many lines", 200_000, "lines",
             lambda n: "250-x\n" * n + "250 x", reply_lines),
        Case("tcl source long word", 500_000, "chars",
             lambda n: "set a " + "x" * n + "\n", parse_script),
        Case("tcl source many commands", 50_000, "commands",
             lambda n: "set a $b\n" * n, parse_script),
        Case("tcl source colons", 1_000_000, "chars",
             lambda n: "set a $b" + ":" * n + "\n", parse_script),
        Case("scan many sends", 10_000, "commands",
             lambda n: "smtp::sendmessage $t -servers [list a b] {*}$o\n" * n,
             lambda s: analyse(s, "x.tcl")),
        Case("scan nested braces", 20_000, "levels",
             lambda n: "if 1 {" * n + "}" * n + "\n", lambda s: analyse(s, "x.tcl")),
        Case("scan nested brackets", 50_000, "levels",
             lambda n: "set a " + "[list " * n + "]" * n + "\n", lambda s: analyse(s, "x.tcl")),
        Case("check labels: { and a run of @", 200_000, "chars", lambda n: "{" + "@" * n,
             lambda s: _labels("", s)),
        Case("check labels: IDNA refusal starts", 20_000, "starts",
             lambda n: "5.1.3 domain " * n, lambda s: _labels("", s)),
        Case("check labels: lone surrogate starts", 20_000, "starts",
             lambda n: "lone surrogate U+D800" * n, lambda s: _labels("", s)),
        Case("check labels: unclosed \"header(", 20_000, "starts",
             lambda n: '"header(' * n, lambda s: _labels(s, "")),
        Case("check pairs sessions", 4_000, "sessions", str, lambda n: _paired(n, True)),
        Case("check pairs messages", 2_000, "messages", str, lambda n: _paired(n, False)),
        Case("check compares printed lines", 20_000, "lines", str, _printed),
        Case("check labels: header names left", 100_000, "names",
             lambda n: "headers: " + "X-Tag " * n, lambda s: _labels(s + "To", s)),
    ]
    return cases


def case_named(name: str) -> Case:
    for case in _cases():
        if case.name == name:
            return case
    raise SystemExit(f"no case named {name!r}")


def time_one(name: str, n: int) -> float:
    """Seconds case `name` takes at size `n` (input built first): the best of
    up to three runs made within a second, as the first run also pays for
    fresh memory and a shared machine adds noise."""
    case = case_named(name)
    data = case.make(n)
    times: list[float] = []
    while len(times) < 3 and sum(times) < 1.0:
        start = time.perf_counter()
        case.run(data)
        times.append(time.perf_counter() - start)
    return min(times)


_TCL_DRIVER = """
package require mime
set f [open [lindex $argv 0] rb]
set input [read $f]
close $f
set start [clock microseconds]
%s
puts [expr {([clock microseconds] - $start) / 1e6}]
"""


class ChildFailed(Exception):
    """The measured child exited with an error (tcllib fails on some inputs)."""


def _child(argv: list[str], limit: float) -> float | None:
    """Seconds the child printed last, or None when it ran past `limit`."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=limit, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        raise ChildFailed(proc.stderr.strip().splitlines()[0][:60] if proc.stderr else "?")
    return float(proc.stdout.split()[-1])


def measure(name: str, n: int, limit: float) -> float | None:
    return _child([sys.executable, "-m", "bench.complexity", "--one", name, str(n)], limit)


def measure_tcllib(case: Case, n: int, limit: float) -> float | None:
    assert case.tcl is not None
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp, "input"), Path(tmp, "run.tcl")
        data.write_bytes(case.make(n).encode("latin-1"))
        script.write_text(_TCL_DRIVER % case.tcl)
        return _child([shutil.which("tclsh") or "tclsh", str(script), str(data)], limit)


def _shown(seconds: float | None, limit: float) -> str:
    return f"> {limit:g} s" if seconds is None else f"{seconds * 1000:.1f} ms"


def _ratio(small: float | None, large: float | None, limit: float) -> str:
    if small is None:
        return "?"
    if large is None:
        return f"> {limit / max(small, 1e-6):.0f}"
    return f"{large / max(small, 1e-6):.1f}"


def _tcllib_columns(case: Case, n: int, limit: float) -> str:
    try:
        small = measure_tcllib(case, n, limit)
        large = measure_tcllib(case, 8 * n, limit) if small is not None else None
    except ChildFailed as exc:
        return f" fails: {exc} | | |"
    return f" {_shown(small, limit)} | {_shown(large, limit)} | {_ratio(small, large, limit)} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.complexity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every n by this")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument("--only", default="", help="only cases whose name contains this")
    parser.add_argument("--tcllib", action="store_true", help="also time tclsh + tcllib")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS)
    # Every case at size N in this process, "name<TAB>seconds" each (the smoke test).
    parser.add_argument("--each", type=int, metavar="N", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.one:
        print(time_one(opts.one[0], int(opts.one[1])))
        return 0
    if opts.each:
        for case in _cases():
            print(f"{case.name}\t{time_one(case.name, opts.each)}", flush=True)
        return 0
    with_tcllib = opts.tcllib and shutil.which("tclsh") is not None
    header = "| case | n | time at n | time at 8n | ratio |"
    rule = "|---|---|---|---|---|"
    if with_tcllib:
        header += " tcllib at n | tcllib at 8n | tcllib ratio |"
        rule += "---|---|---|"
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
          "ratio = time at 8n / time at n (linear ~8, quadratic ~64)")
    print()
    print(header)
    print(rule, flush=True)
    for case in _cases():
        if opts.only not in case.name:
            continue
        n = max(1, int(case.n * opts.scale))
        small = measure(case.name, n, opts.limit)
        large = measure(case.name, 8 * n, opts.limit) if small is not None else None
        row = (f"| {case.name} | {n:,} {case.what} | {_shown(small, opts.limit)} | "
               f"{_shown(large, opts.limit)} | {_ratio(small, large, opts.limit)} |")
        if with_tcllib:
            if case.tcl is None:
                row += " | | |"
            else:
                row += _tcllib_columns(case, n, opts.limit)
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
