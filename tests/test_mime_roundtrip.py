"""Round trip: `mime::initialize -string [mime::buildmessage $tree]` gives
back the tree (types, parameters, headers, parts) and its bodies.

The trees are the property test's (tests/support/mime_trees.py). Bridge only:
tcllib 1.7.0 cannot parse its own multipart output (COMPAT `boundary-once`).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings

from tclbridge import Interp
from tests.support.hypothesis_runs import REPLAYABLE
from tests.support.mime_trees import Container, Leaf, ScriptWriter, Tree, tcl_word, trees

TREES = int(os.environ.get("TCLBRIDGE_ROUNDTRIP_TREES", "200"))

# Headers the builder writes itself; everything else must come back as given.
_GENERATED_HEADERS = {"mime-version", "content-id", "content-type", "content-transfer-encoding"}


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n", "\n", value).strip()


def _lines(data: bytes) -> bytes:
    """Line ends are not the tree's to fix: the builder writes CRLF, turns a
    CR into CR CR LF or =0D, and the parser gives CRLF at the top and LF in
    nested parts (as tcllib). Any run of CRs and LFs counts as one line end."""
    return re.sub(rb"[\r\n]+", b"\n", data).strip(b"\n")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _expected_body(leaf: Leaf) -> bytes | None:
    """The body the parser must give back, or None where the tree does not
    fix it."""
    if leaf.unicode:
        return None  # characters become bytes by the charset's encoding
    encoding = (leaf.encoding or "").lower()
    if encoding not in ("base64", "quoted-printable") and not _is_utf8(leaf.body):
        # Unencoded text goes through the Tcl system encoding (UTF-8 here)
        # both ways, as in tcllib: bytes that are not UTF-8 do not survive.
        return None
    return leaf.body


def _compare(tcl: Interp, token: str, tree: Tree, where: str) -> list[str]:
    problems: list[str] = []

    def prop(name: str) -> str:
        return tcl.eval(f"mime::getproperty {token} {name}")

    content = prop("content")
    if content != tree.content.lower():
        return [f"{where}: content {content!r}, built as {tree.content!r}"]
    flat = tcl.tk.splitlist(prop("params"))
    params = dict(zip(flat[::2], flat[1::2], strict=True))
    for key, value in tree.params:
        if key.lower() == "boundary":
            continue
        got = params.get(key.lower())
        if got != value:
            problems.append(f"{where}: param {key}={got!r}, built with {value!r}")
    for name, value in tree.headers:
        if name.lower() in _GENERATED_HEADERS:
            continue
        values = tcl.tk.splitlist(tcl.eval(f"mime::getheader {token} {tcl_word(name)}"))
        # Header values go out as UTF-8 octets and are read back as octets.
        values = [_unfold(v.encode("latin-1").decode("utf-8")) for v in values]
        if _unfold(value) not in values:
            problems.append(f"{where}: header {name} {values!r}, built with {value!r}")
    if isinstance(tree, Container):
        children = tcl.tk.splitlist(prop("parts"))
        if len(children) != len(tree.children):
            return problems + [f"{where}: {len(children)} parts, built with {len(tree.children)}"]
        for i, (child, sub) in enumerate(zip(children, tree.children, strict=True)):
            problems += _compare(tcl, child, sub, f"{where}/{i}")
        return problems
    expected = _expected_body(tree)
    if content.startswith("message/"):
        # Any message/* body is parsed as the message it carries (as tcllib).
        expected = None
    if expected is not None:
        # Through hex: tkinter's eval cuts a result at a NUL character.
        body = bytes.fromhex(tcl.eval(f"binary encode hex [mime::getbody {token}]"))
        exact = (tree.encoding or "").lower() == "base64" and not content.startswith("text/")
        if body != expected if exact else _lines(body) != _lines(expected):
            problems.append(f"{where}: body {body[:80]!r}, built with {expected[:80]!r}")
    return problems


def _writable(text: str) -> str:
    """buildmessage writes parameter values as they are, in quotes (no RFC
    2231 encoding, as tcllib): a quote, a backslash or a non-ASCII character
    in a value cannot come back. The round trip is about what can."""
    return "".join(c for c in text if c not in '"\\' and c.isascii())


_given_boundaries = iter(range(10**9))


def _representable(tree: Tree) -> Tree:
    tree.params = [(k, _writable(v)) for k, v in tree.params]
    # A boundary the script gives twice (parent and child) cannot be told
    # apart by any parser.
    tree.params = [(k, f"given-{next(_given_boundaries)}" if k == "boundary" else v)
                   for k, v in tree.params]
    if isinstance(tree, Container) and tree.content.lower().startswith("message/"):
        tree.children = tree.children[:1]  # a message/* part carries one message
    if isinstance(tree, Leaf) and tree.content.lower().startswith("message/"):
        # The parser reads any message/* body as a message (as tcllib does):
        # random bytes there are a bad header, not a body to give back.
        # (LF only: a -file body's CRLF goes out as CR CR LF, as in tcllib.)
        tree.body, tree.unicode = b"Subject: inner\n\nhello\n", False
    if isinstance(tree, Container):
        tree.children = [_representable(child) for child in tree.children]
    return tree


@settings(
    max_examples=TREES,
    deadline=None,
    **REPLAYABLE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tree=trees.map(_representable))
@example(tree=Leaf("text/plain", [], "base64", [], b"\x00", unicode=False, as_file=True))
@example(tree=Container("multipart/mixed", [("x-a4", "quote"), ("name", "e")],
                        [("Content-Description", "")], []))
def test_parse_of_build_gives_the_tree_back(mime_tcl: Interp, tree: Tree) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        writer = ScriptWriter()
        top = writer.part(tree)
        for name, data in writer.files.items():
            (Path(workdir) / name).write_bytes(data)
        mime_tcl.eval(f"cd {{{workdir}}}")
        mime_tcl.eval(writer.script())
        built = mime_tcl.eval(f"set built [mime::buildmessage ${top}]")
        mime_tcl.eval("set parsed [mime::initialize -string $built]")
        try:
            problems = _compare(mime_tcl, mime_tcl.eval("set parsed"), tree, "top")
        finally:
            mime_tcl.eval(f"mime::finalize $parsed -subordinates all; mime::finalize ${top} "
                     "-subordinates all; cd /")
    assert not problems, "\n".join(problems[:5]) + f"\n--- built:\n{built[:2000]}"
