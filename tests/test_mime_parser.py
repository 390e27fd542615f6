"""The MIME parser through its Python API: what a caller gives it is kept,
whatever the input kind (`-string`, `-file`, a span of a mailbox file)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tclbridge.mime import Part, TcllibLayout
from tclbridge.mime.initialize import configure
from tclbridge.mime.parser import FileSpan, UnchangedFileScans, parse_part


class Base64NotQuotedPrintable(TcllibLayout):
    """A caller's quirk: base64 wherever tcllib would choose quoted-printable."""

    def choose_encoding(self, part: Part) -> str:
        chosen = super().choose_encoding(part)
        return "base64" if chosen == "quoted-printable" else chosen


# A text part with a 100-character line and no Content-Transfer-Encoding:
# tcllib chooses quoted-printable for it (its string and the whole file
# both have the long line).
MESSAGE = (
    'Content-Type: multipart/mixed; boundary="b"\nSubject: s\n\n'
    "--b\nContent-Type: text/plain\n\n" + "x" * 100 + "\n--b--\n"
)


def walk(part: Part) -> Iterator[Part]:
    yield part
    for child in part.parts:
        yield from walk(child)


def from_span(path: Path, layout: TcllibLayout) -> Part:
    """MESSAGE as the second message of a mailbox file, as tcllib's mbox
    package parses it (`-file BOX -root ... -offset N -count M`)."""
    prefix = "From a@example.com Mon Jan  1 00:00:00 2024\n"
    path.write_text(prefix + "Subject: first\n\nx\n" + prefix + MESSAGE)
    offset = len(prefix) * 2 + len("Subject: first\n\nx\n")
    part = Part(layout)
    part.value, part.file = "file", str(path)
    return parse_part(
        part, layout, span=FileSpan(offset, len(MESSAGE)), scans=UnchangedFileScans()
    )


@pytest.mark.parametrize("kind", ["file", "span"])
def test_a_layout_subclass_is_kept_for_files_as_for_strings(kind: str, tmp_path: Path) -> None:
    # The file parser rebuilt its layout from the dataclass fields, so a
    # subclass's quirks were lost with -file: quoted-printable there.
    layout = Base64NotQuotedPrintable()
    from_string = configure([("-string", MESSAGE)], layout=layout)
    if kind == "file":
        path = tmp_path / "message.eml"
        path.write_text(MESSAGE)
        parsed = configure([("-file", str(path))], layout=layout)
    else:
        parsed = from_span(tmp_path / "box.mbox", layout)
    for top in (from_string, parsed):
        assert top.parts[0].get_header("Content-Transfer-Encoding") == ["base64"]
        assert [type(part.layout) for part in walk(top)] == [Base64NotQuotedPrintable] * 2
    assert [part.headers() for part in walk(parsed)] == [
        part.headers() for part in walk(from_string)
    ]


def test_the_layout_given_is_not_changed(tmp_path: Path) -> None:
    # The parser shares whole-file scans through its own copy of the layout.
    layout = Base64NotQuotedPrintable(long_line=200)
    path = tmp_path / "message.eml"
    path.write_text(MESSAGE)
    parsed = configure([("-file", str(path))], layout=layout)
    assert parsed.layout is not layout and parsed.layout == layout
    assert layout == Base64NotQuotedPrintable(long_line=200)
    # With 200-character lines allowed, the part needs no encoding.
    assert parsed.parts[0].get_header("Content-Transfer-Encoding") == []


def test_a_long_line_in_a_file_is_not_held_whole(tmp_path: Path) -> None:
    # A multipart reads the lines of a file only to find its boundary lines:
    # a 32 MB line (an attachment without line breaks) was read whole.
    path = tmp_path / "long.eml"
    with path.open("wb") as out:
        out.write(b'Content-Type: multipart/mixed; boundary="B"\n\n--B\n'
                  b"Content-Type: application/octet-stream\n\n")
        for _ in range(32):
            out.write(b"x" * (1 << 20))
        out.write(b"\n--B--\n")
    tracemalloc.start()
    try:
        top = configure([("-file", str(path))])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(part.content, part.count) for part in top.parts] == [
        ("application/octet-stream", 32 << 20)
    ]
    assert peak < 1 << 20, f"peak {peak / (1 << 20):.1f} MB"
