"""Random MIME part trees (Hypothesis strategies) and the Tcl script that
builds them with `mime::initialize`, for the property and round-trip tests.

Leaf types, parameters, transfer encodings, 8-bit, binary and Unicode bodies,
long lines, lines starting with "." or "From ", empty bodies, `-file` parts,
nested multiparts and message/rfc822.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hypothesis import strategies as st

# -- the tree model ---------------------------------------------------------------


@dataclass
class Leaf:
    content: str
    params: list[tuple[str, str]]
    encoding: str | None
    headers: list[tuple[str, str]]
    body: bytes
    unicode: bool  # body is UTF-8 text, handed to Tcl as characters
    as_file: bool


@dataclass
class Container:
    content: str
    params: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    children: list[Leaf | Container] = field(default_factory=list)


Tree = Leaf | Container

# -- strategies -------------------------------------------------------------------

LEAF_TYPES = [
    "text/plain", "text/html", "text/x-custom", "Text/Plain", "application/octet-stream",
    "application/json", "application/pdf", "image/png", "audio/basic", "video/mp4",
    "message/delivery-status", "TEXT/HTML", "Application/Octet-Stream",
]
MULTIPART_TYPES = [
    "multipart/mixed", "multipart/alternative", "multipart/related", "multipart/digest",
    "Multipart/Mixed", "MULTIPART/ALTERNATIVE",
]
ENCODINGS = [
    None, None, "7bit", "8bit", "binary", "base64", "quoted-printable", "BASE64",
    "Quoted-Printable",
]
CHARSETS = ["us-ascii", "utf-8", "UTF-8", "iso-8859-1", "ISO-8859-15", "windows-1252", "x-nope"]
PARAM_NAMES = [
    "name", "format", "delsp", "x-info", "Name", "report-type", "id", "a", "B", "FileName",
    "x-a1", "x-a2", "x-a3", "x-a4",
]
PARAM_VALUES = [
    "x.txt", "flowed", "yes", "with space", "a;b", "long-" + "v" * 60, "0", "\u00e9",
    'q"uote', "back\\slash", "",
]
HEADER_NAMES = [
    "Subject", "X-Note", "Content-Description", "Content-Disposition", "Received", "received",
    "From", "To", "X-Empty",
]
HEADER_VALUES = [
    "hello", "Nested test", "attachment; filename=\"f.bin\"", "inline", "r1 by x; Mon, 1 Jan",
    "", "a@example.com", "caf\u00e9", "tab\there", "x" * 90, "folded\n\tline", "\u20ac",
]

# Pieces of a body line; joined, repeated, then joined with a line end.
TEXT_PIECES = [
    "hello world", "a = b", "tab\there", "x", ".", "..", ".hidden", "From me", "From",
    "From  x", " lead", "trailing ", "trailing\t", "==3D=", "_?=", "caf\u00e9 na\u00efve",
    "\u00a0nbsp", "\x01\x1f\x7f", "\r", "ctl\x00nul", "[x] {y} $z \\w \"q\"",
]
WIDE_PIECES = ["\u20ac", "\u0141\u00f3d\u017a", "\u4e2d\u6587", "\u0100"]


@st.composite
def bodies(draw: st.DrawFn, unicode_ok: bool) -> tuple[bytes, bool]:
    """A body as bytes and whether it is UTF-8 text for Tcl characters."""
    unicode = unicode_ok and draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:
        return b"", unicode
    if not unicode and draw(st.integers(0, 4)) == 0:
        data = draw(st.binary(min_size=1, max_size=120))
        return data * draw(st.sampled_from([1, 1, 3, 40])), False
    pieces = TEXT_PIECES + (WIDE_PIECES if unicode else [])
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        chosen = draw(st.lists(st.sampled_from(pieces), min_size=0, max_size=3))
        line = " ".join(chosen) * draw(st.sampled_from([1, 1, 1, 2, 8, 30]))
        lines.append(line)
    ending = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    # Now and then a body just over tcllib's 32766-byte file piece.
    if text and draw(st.integers(0, 15)) == 0:
        text *= 33000 // len(text) + 1
    if unicode:
        return text.encode("utf-8"), True
    return text.encode("latin-1"), False


def param_lists(names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    pairs = st.tuples(st.sampled_from(names), st.sampled_from(PARAM_VALUES))
    # tcllib refuses a parameter given twice in any case; keep names unique.
    return st.lists(pairs, max_size=6, unique_by=lambda p: p[0].lower())


header_lists = st.lists(
    st.tuples(st.sampled_from(HEADER_NAMES), st.sampled_from(HEADER_VALUES)), max_size=3
)


@st.composite
def leaves(draw: st.DrawFn) -> Leaf:
    content = draw(st.sampled_from(LEAF_TYPES))
    params = draw(param_lists(PARAM_NAMES))
    if content.lower().startswith("text/") and draw(st.booleans()):
        params.append(("charset", draw(st.sampled_from(CHARSETS))))
    as_file = draw(st.integers(0, 3)) == 0
    body, unicode = draw(bodies(unicode_ok=not as_file))
    return Leaf(
        content=content, params=params, encoding=draw(st.sampled_from(ENCODINGS)),
        headers=draw(header_lists), body=body, unicode=unicode, as_file=as_file,
    )


def containers(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Container]:
    multipart = st.builds(
        Container,
        content=st.sampled_from(MULTIPART_TYPES),
        params=param_lists(PARAM_NAMES + ["boundary"]).map(
            lambda ps: [(k, "given-" + str(len(ps)) if k == "boundary" else v) for k, v in ps]
        ),
        headers=header_lists,
        children=st.lists(children, max_size=3),
    )
    message = st.builds(
        Container,
        content=st.sampled_from(["message/rfc822", "Message/RFC822"]),
        params=st.just([]),
        headers=header_lists,
        children=st.lists(children, min_size=1, max_size=2),
    )
    return st.one_of(multipart, message)


trees: st.SearchStrategy[Tree] = st.recursive(leaves(), containers, max_leaves=6)

# -- trees as Tcl --------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z0-9 _.,:/=@;-]")


def tcl_word(text: str) -> str:
    """`text` as one Tcl word (a quoted string with \\u escapes)."""
    return '"' + "".join(c if _PLAIN.match(c) else f"\\u{ord(c):04x}" for c in text) + '"'


class ScriptWriter:
    """Turns trees into Tcl commands; collects the body files they read."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.files: dict[str, bytes] = {}
        self._n = 0

    def part(self, tree: Tree) -> str:
        """Commands building `tree`; returns the variable holding its token."""
        self._n += 1
        var = f"t{self._n}"
        args = ["-canonical", tcl_word(tree.content)]
        for key, value in tree.params:
            args += ["-param", f"[list {tcl_word(key)} {tcl_word(value)}]"]
        for key, value in tree.headers:
            args += ["-header", f"[list {tcl_word(key)} {tcl_word(value)}]"]
        if isinstance(tree, Container):
            tokens = [f"${self.part(child)}" for child in tree.children]
            args += ["-parts", f"[list {' '.join(tokens)}]"]
        else:
            if tree.encoding:
                args += ["-encoding", tree.encoding]
            name = f"body{self._n}.bin"
            self.files[name] = tree.body
            if tree.as_file:
                args += ["-file", name]
            elif tree.unicode:
                args += ["-string", f"[encoding convertfrom utf-8 [readbin {name}]]"]
            else:
                args += ["-string", f"[readbin {name}]"]
        self.lines.append(f"set {var} [mime::initialize {' '.join(args)}]")
        return var

    def tree(self, index: int, tree: Tree) -> None:
        self.lines.append("if {[catch {")
        top = self.part(tree)
        self.lines.append(f"mkfile out{index}.eml [mime::buildmessage ${top}]")
        self.lines.append(f"mime::finalize ${top} -subordinates all")
        self.lines.append(f"}} err]}} {{ mkfile out{index}.err [encoding convertto utf-8 $err] }}")

    def script(self) -> str:
        return "\n".join(self.lines) + "\nset done ok\n"
