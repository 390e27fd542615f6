"""Property test: random part trees built under tcllib (tclsh) and the bridge.

Hypothesis draws batches of part trees (leaf types, parameters, transfer
encodings, 8-bit, binary and Unicode bodies, long lines, lines starting with
"." or "From ", empty bodies, `-file` parts, nested multiparts and
message/rfc822). Each batch becomes ONE Tcl script that builds every tree and
writes its `mime::buildmessage` bytes (or its error) to a file; the script runs
once under tclsh + tcllib 1.21 (mime 1.7.0) and once in a bridge interpreter.
The files must be equal byte for byte after

- masking boundaries, Content-ID and Message-ID values (random by design),
- applying to tcllib's output the two intended differences of docs/COMPAT.md:
  `boundary-once` (1.7.0 writes the boundary parameter again on a line of its
  own after Content-Type, and leaves it out of Content-Type when the part has
  other parameters; 1.7.2 writes it once, last, in Content-Type) and
  `cte-once` (Content-Transfer-Encoding is written again after Content-Type).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.hypothesis_runs import REPLAYABLE
from tests.support.mime_harness import HAVE_TCLLIB, run_bridge, run_tclsh
from tests.support.mime_normalise import fix_tcllib_170, mask
from tests.support.mime_trees import ScriptWriter, Tree, trees

pytestmark = pytest.mark.skipif(not HAVE_TCLLIB, reason="needs tclsh and tcllib mime")

TREES_PER_BATCH = 50
BATCHES = 5  # 250 trees per run

# -- running a batch -----------------------------------------------------------------


def outputs(workdir: Path, count: int) -> list[str]:
    results = []
    for i in range(count):
        eml, err = workdir / f"out{i}.eml", workdir / f"out{i}.err"
        if eml.exists():
            results.append(eml.read_bytes().decode("latin-1"))
        elif err.exists():
            results.append("ERROR: " + err.read_bytes().decode("utf-8"))
        else:
            results.append("MISSING")
    return results


def compare_batch(batch: list[Tree], workdir: Path) -> list[str]:
    """Runs the batch both ways; returns a description of each difference."""
    writer = ScriptWriter()
    for i, tree in enumerate(batch):
        writer.tree(i, tree)
    script = writer.script()
    ref_dir, our_dir = workdir / "ref", workdir / "our"
    for d in (ref_dir, our_dir):
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("out*"):
            old.unlink()
        for name, data in writer.files.items():
            (d / name).write_bytes(data)
    ref_result = run_tclsh(script, ref_dir)
    our_result = run_bridge(script, our_dir)
    assert ref_result == our_result == "0 ok {}", (ref_result, our_result)
    problems = []
    for i, (ref, our) in enumerate(
        zip(outputs(ref_dir, len(batch)), outputs(our_dir, len(batch)), strict=True)
    ):
        expected = mask(fix_tcllib_170(ref))
        actual = mask(our)
        if expected != actual:
            problems.append(f"tree {i}: {batch[i]!r}\nexpected {expected!r}\nactual   {actual!r}")
    return problems


def test_normaliser_handles_both_170_layouts() -> None:
    with_params = (
        'Content-Type: multipart/mixed;\r\n              foo="bar"\r\n'
        ';\r\n              boundary="B1"\r\n\r\n--B1\r\n'
    )
    assert fix_tcllib_170(with_params) == (
        'Content-Type: multipart/mixed;\r\n              foo="bar";\r\n'
        '              boundary="B1"\r\n\r\n--B1\r\n'
    )
    plain = (
        'Content-Type: multipart/mixed;\r\n              boundary="B1"\r\n'
        ';\r\n              boundary="B1"\r\n\r\n--B1\r\n'
    )
    assert fix_tcllib_170(plain) == (
        'Content-Type: multipart/mixed;\r\n              boundary="B1"\r\n\r\n--B1\r\n'
    )
    empty_last = (
        'Content-Type: multipart/mixed;\r\n              boundary="given";\r\n'
        '              x="";\r\n              boundary="----- =_AB="\r\n\r\n--given\r\n'
    )
    assert fix_tcllib_170(empty_last) == (
        'Content-Type: multipart/mixed;\r\n              boundary="given";\r\n'
        '              x=""\r\n\r\n--given\r\n'
    )
    ticked = (
        'Content-Type: multipart/mixed;\r\n              boundary="----- =_A="\r\n'
        ';\r\n              boundary="----- =_B="\r\n\r\n------- =_B=--\r\n'
    )
    assert fix_tcllib_170(ticked) == (
        'Content-Type: multipart/mixed;\r\n              boundary="----- =_B="\r\n'
        "\r\n------- =_B=--\r\n"
    )
    leaf = (
        "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nYQ==\r\n"
    )
    assert fix_tcllib_170(leaf) == (
        "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Type: text/plain\r\n\r\nYQ==\r\n"
    )



def test_normaliser_handles_lf_and_a_message_inside_a_tcl_result() -> None:
    """The other callers' forms (tests/support/mime_harness.py): a
    `code result errorcode` list whose message has LF line ends."""
    leaf = (
        "0 {MIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\nContent-Type: text/plain\n"
        "Content-Transfer-Encoding: 7bit\n\nhi\n} {}"
    )
    assert fix_tcllib_170(leaf) == (
        "0 {MIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\nContent-Type: text/plain\n"
        "\nhi\n} {}"
    )
    multipart = (
        '0 {Content-Type: multipart/mixed;\n              boundary="B1"\n'
        ';\n              boundary="B1"\n\n--B1\n} {}'
    )
    assert fix_tcllib_170(multipart) == (
        '0 {Content-Type: multipart/mixed;\n              boundary="B1"\n\n--B1\n} {}'
    )
    # "boundary=" inside the content type given (-canonical "multipart/mixed;
    # boundary=xyz"): the made-up boundary is the body's, and stays.
    in_type = (
        'Content-Type: multipart/mixed; boundary=xyz;\r\n              boundary="----- =_G="\r\n'
        ';\r\n              boundary="----- =_G="\r\n\r\n------- =_G=\r\n'
    )
    assert fix_tcllib_170(in_type) == (
        'Content-Type: multipart/mixed; boundary=xyz;\r\n              boundary="----- =_G="\r\n'
        "\r\n------- =_G=\r\n"
    )
    # A Content-Transfer-Encoding after Content-Type that is not a copy stays.
    single = "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nYQ==\n"
    assert fix_tcllib_170(single) == single

_counter = iter(range(1_000_000))


@settings(
    max_examples=BATCHES,
    deadline=None,
    **REPLAYABLE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(trees, min_size=TREES_PER_BATCH, max_size=TREES_PER_BATCH))
def test_buildmessage_same_as_tcllib(batch: list[Tree], tmp_path_factory) -> None:
    workdir = tmp_path_factory.mktemp(f"batch{next(_counter)}")
    problems = compare_batch(batch, workdir)
    assert not problems, "\n\n".join(problems[:3])
