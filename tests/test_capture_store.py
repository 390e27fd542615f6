"""tclbridge.capture_store reads what a capture directory holds, whatever it
holds: hostile .json files, garbage and truncated messages, absurdly nested
MIME, huge headers, thousands of captures (each read once), captures that
appear while it is being read. Real captures come from a Capture server fed
by smtplib; hostile ones are written as files, as anyone who can write DIR
could."""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tclbridge import capture_store
from tclbridge.capture import Capture
from tclbridge.capture_store import CaptureDirectory, CaptureNotFound

OUTSIDE_SUBJECT = b"Subject: read from outside DIR\r\n\r\nsecret\r\n"


def deep_multipart(levels: int) -> bytes:
    """A message whose multipart/mixed parts nest `levels` deep around one text part."""
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                    for i in range(levels))
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(levels)))
    return b"Subject: deep\r\n" + head + b"Content-Type: text/plain\r\n\r\nleaf\r\n" + tail


def write_capture(directory: Path, name: str, message: bytes, **record: object) -> None:
    (directory / f"{name}.eml").write_bytes(message)
    fields: dict[str, object] = {"file": f"{name}.eml", "mail_from": "a@x", "rcpt_tos": ["b@y"],
                                 "size": len(message)}
    (directory / f"{name}.json").write_text(json.dumps({**fields, **record}))


@pytest.fixture
def captured(tmp_path: Path) -> Iterator[Path]:
    """A directory with one real capture (0001), sent by smtplib."""
    directory = tmp_path / "cap"
    with Capture(directory) as cap:
        assert cap._server is not None
        with smtplib.SMTP(cap._server.host, cap._server.port, timeout=5) as client:
            client.sendmail("a@x", ["b@y"], b"Subject: real\r\n\r\nhello\r\n")
    yield directory


# -- hostile .json ----------------------------------------------------------------------


def test_a_hostile_json_never_breaks_the_list(captured: Path) -> None:
    raw = (captured / "0001.eml").read_bytes()
    hostile: dict[str, bytes] = {
        "0002": b"[1, 2]",
        "0003": b'"a string"',
        "0004": b"null",
        "0005": b"{not json",
        "0006": b"\xff\xfe garbage",
        "0007": b"[" * 100_000 + b"]" * 100_000,  # the decoder recurses: RecursionError
    }
    for name, data in hostile.items():
        (captured / f"{name}.json").write_bytes(data)
    (captured / "0008.eml").write_bytes(raw)
    (captured / "0008.json").write_text(json.dumps({
        "file": "0008.eml", "mail_from": ["x"], "rcpt_tos": 5, "size": True,
        "captured_at": 12, "tls": ["TLS"], "policy": 3, "policy_refused": {"a": 1},
        "requested_servers": "mail.example", "commands": 7, "replies": None}))
    (captured / "0009.eml").write_bytes(raw)
    (captured / "0009.json").write_text(json.dumps({
        "file": "0009.eml", "mail_from": None, "rcpt_tos": ["ok@y", {"a": 1}, None],
        "size": -5, "tls": {"mode": ["x"]},
        "policy": [{"rule": "recipients", "decision": "allowed <ok@y>"}, 5],
        "policy_refused": [{"recipient": 1, "reason": ["r"]}, "x"]}))
    entries = {e.name: e for e in CaptureDirectory(captured).entries()}
    assert sorted(entries) == ["0001", "0008", "0009"]  # the unreadable ones left out
    odd = entries["0008"]
    assert (odd.mail_from, odd.rcpt_tos, odd.size, odd.captured_at) == ('["x"]', (), None, "12")
    assert (odd.tls, odd.policy, odd.policy_refused, odd.requested_servers) == (None, (), (), ())
    assert odd.subject == "real"
    other = entries["0009"]
    assert other.mail_from == "" and other.rcpt_tos == ("ok@y", '{"a": 1}', "")
    assert other.size is None and other.tls == {"mode": '["x"]'}
    assert other.policy == ("recipients: allowed <ok@y>", "5")
    assert other.policy_refused == ({"recipient": "1", "reason": '["r"]'},)
    json.dumps([e.to_json() for e in entries.values()])  # every value is JSON again
    assert capture_store.dialogue(odd.record) == []
    assert CaptureDirectory(captured).message(9).headers == (("Subject", "real"),)


@pytest.mark.parametrize("name", ["../outside.eml", "OUTSIDE", "0001.eml", "..", ".", ""])
def test_a_json_never_makes_the_store_read_outside_its_own_message(
        captured: Path, name: str) -> None:
    outside = captured.parent / "outside.eml"
    outside.write_bytes(OUTSIDE_SUBJECT)
    # "OUTSIDE" stands for the absolute path of that file.
    (captured / "0002.json").write_text(json.dumps(
        {"file": str(outside) if name == "OUTSIDE" else name, "mail_from": "m@x"}))
    directory = CaptureDirectory(captured)
    entry = directory.entry(2)
    assert entry.eml is None and entry.subject is None
    assert not entry.unsent  # no message, but not the site policy's doing
    with pytest.raises(CaptureNotFound, match="names no file but 0002.eml"):
        directory.message(2)


def test_a_symbolic_link_is_not_followed(captured: Path) -> None:
    outside = captured.parent / "outside.eml"
    outside.write_bytes(OUTSIDE_SUBJECT)
    (captured / "0002.eml").symlink_to(outside)
    (captured / "0002.json").write_text(json.dumps({"file": "0002.eml"}))
    (captured / "0003.json").symlink_to(captured / "0001.json")
    directory = CaptureDirectory(captured)
    assert [e.name for e in directory.entries()] == ["0001", "0002"]
    assert directory.entry(2).subject is None
    with pytest.raises(CaptureNotFound, match="cannot read 0002.eml"):
        directory.message(2)


def test_a_fifo_does_not_block_the_reader(captured: Path) -> None:
    os.mkfifo(captured / "0002.json")
    os.mkfifo(captured / "0003.eml")
    (captured / "0003.json").write_text(json.dumps({"file": "0003.eml"}))
    listed: list[list[str]] = []
    reader = threading.Thread(
        target=lambda: listed.append([e.name for e in CaptureDirectory(captured).entries()]),
        daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "the listing blocked on a FIFO"
    assert listed == [["0001", "0003"]]
    with pytest.raises(CaptureNotFound, match="not a regular file"):
        CaptureDirectory(captured).message(3)


def test_a_message_file_gone_since_the_listing_is_a_clear_error(captured: Path) -> None:
    directory = CaptureDirectory(captured)
    assert directory.entry(1).subject == "real"
    (captured / "0001.eml").unlink()
    with pytest.raises(CaptureNotFound, match="cannot read 0001.eml: No such file"):
        directory.message(1)


# -- hostile messages -----------------------------------------------------------------


def test_garbage_and_truncated_messages_are_shown_as_far_as_they_go(captured: Path) -> None:
    real = (b"Subject: two parts\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\ncaf\xc3\xa9\r\n--B\r\n"
            b"Content-Type: application/pdf; name*=bogus''%ff\r\n"
            b"Content-Disposition: attachment; filename*=no-such-charset''%e9t%e9\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0x!!not base64")  # cut short
    write_capture(captured, "0002", real)
    write_capture(captured, "0003", bytes(range(256)) * 40)
    write_capture(captured, "0004", b"Subject: caf\xc3\xa9 \xff\r\nX: =?bogus?Q?x?=\r\n\r\n")
    write_capture(captured, "0005", b"")
    directory = CaptureDirectory(captured)
    cut = directory.message(2)
    assert [(p.number, p.index, p.content_type) for p in cut.parts()] == [
        (1, "1", "multipart/mixed"), (2, "1.1", "text/plain"), (3, "1.2", "application/pdf")]
    assert cut.part(2).text() == "café"
    assert cut.part(3).filename is not None and cut.part(3).disposition == "attachment"
    assert isinstance(cut.part(3).content(), bytes)
    garbage = directory.message(3)
    assert garbage.parts()[0].content_type == "text/plain"
    assert isinstance(garbage.part(1).content(), bytes)
    # 8-bit header bytes are read as UTF-8 (as an SMTPUTF8 message's), the rest as U+FFFD.
    assert directory.entry(4).subject == "café \ufffd"
    assert dict(directory.message(4).headers) == {"Subject": "café \ufffd",
                                                  "X": "=?bogus?Q?x?="}
    assert directory.message(5).headers == ()
    with pytest.raises(KeyError):
        cut.part(4)
    with pytest.raises(KeyError):
        cut.part(0)


@pytest.mark.parametrize("charset", ["idna", "undefined", "base64", "x-nothing"])
def test_a_charset_that_is_not_a_text_encoding_is_read_as_utf_8(captured: Path,
                                                                 charset: str) -> None:
    """idna and undefined (and punycode before Python 3.13, which this test
    leaves out) are codecs that raise rather than replace a byte they cannot
    decode (UnicodeError: capture show exited 70, the viewer's message page
    was a 500)."""
    write_capture(captured, "0002", b"Subject: x\r\nContent-Type: text/plain; charset="
                  + charset.encode() + b"\r\n\r\ncaf\xc3\xa9 \xff\r\n")
    assert CaptureDirectory(captured).message(2).part(1).text() == "café \ufffd\r\n"


def test_the_tree_is_built_and_walked_without_recursion(captured: Path) -> None:
    write_capture(captured, "0002", deep_multipart(400))
    message = CaptureDirectory(captured).message(2)
    # With room for only a few frames more than the caller's, neither
    # building the tree again nor walking it may recurse.
    depth = 0
    frame = sys._getframe()
    while frame.f_back is not None:
        frame, depth = frame.f_back, depth + 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)
    try:
        tree = capture_store._tree(message.tree.message)
        parts = list(tree.walk())
    finally:
        sys.setrecursionlimit(limit)
    assert len(parts) == 401
    assert [p.number for p in parts] == list(range(1, 402))
    assert parts[-1].index == "1" + ".1" * 400 and parts[-1].content_type == "text/plain"
    assert message.part(401).content() == b"leaf\r\n"  # its CRLF, then the delimiter's


def test_a_message_nested_5000_deep_is_shown_as_one_part(captured: Path) -> None:
    # The standard library's parser recurses once per level and gives up
    # with RecursionError near Python's limit; the store says so instead.
    write_capture(captured, "0002", deep_multipart(5000))
    start = time.monotonic()
    message = CaptureDirectory(captured).message(2)
    assert time.monotonic() - start < 20
    assert message.note is not None and "nested too deeply" in message.note
    assert [(p.number, p.content_type) for p in message.parts()] == [(1, "multipart/mixed")]
    assert message.part(1).content().startswith(b"--b0\r\n")
    assert dict(message.headers)["Subject"] == "deep"


def test_a_400_kb_subject_is_read_in_bounded_time(captured: Path) -> None:
    for name, size in (("0002", 4_000), ("0003", 400_000)):
        words = b" ".join(b"=?utf-8?q?caf=C3=A9?=" for _ in range(size // 20))
        write_capture(captured, name, b"Subject: " + words + b"\r\n\r\nbody\r\n")
    timings = {}
    for number in (2, 3):
        start = time.monotonic()
        directory = CaptureDirectory(captured)
        entry = directory.entry(number)
        headers = directory.message(number).headers
        timings[number] = time.monotonic() - start
        assert entry.subject is not None and entry.subject.startswith("cafécafé")
        assert dict(headers)["Subject"] == entry.subject
    assert len(entry.subject) < capture_store.HEADER_DECODED + 2
    assert entry.subject.endswith(" …")  # the rest is marked, not decoded
    assert timings[3] < 2 + 20 * timings[2], timings


# -- many captures, and captures that come while the list is read ------------------------


def test_3000_captures_are_each_read_once(captured: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    record = json.loads((captured / "0001.json").read_text())
    for number in range(2, 3001):
        name = f"{number:04d}"
        shutil.copyfile(captured / "0001.eml", captured / f"{name}.eml")
        (captured / f"{name}.json").write_text(json.dumps({**record, "file": f"{name}.eml"}))
    directory = CaptureDirectory(captured)
    start = time.monotonic()
    first = directory.entries()
    first_time = time.monotonic() - start
    assert len(first) == 3000 and first[-1].name == "3000" and first[-1].subject == "real"
    # Captures never change once written: a second listing reads none of
    # them again (what the files now say is not seen), only the new ones.
    for number in (1, 1500, 3000):
        (captured / f"{number:04d}.eml").write_bytes(b"Subject: changed\r\n\r\n")
        (captured / f"{number:04d}.json").write_text(json.dumps({"file": None}))
    write_capture(captured, "3001", b"Subject: new\r\n\r\nx\r\n")
    (captured / "0002.json").unlink()
    opened: list[str] = []
    real_open = os.open

    def counting_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(os.path.basename(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    second = directory.entries()
    monkeypatch.undo()
    assert sorted(opened) == ["3001.eml", "3001.json"]
    assert len(second) == 3000 and second[0].name == "0001" and second[1].name == "0003"
    assert {e.subject for e in second[:-1]} == {"real"}
    assert [e.name for e in second if e.eml is None] == []
    assert (second[-1].name, second[-1].subject) == ("3001", "new")
    assert first_time < 30


def test_captures_appearing_between_listings_are_listed(tmp_path: Path) -> None:
    directory = CaptureDirectory(tmp_path / "cap")
    assert directory.entries() == []  # not there yet
    with Capture(tmp_path / "cap") as cap:
        assert cap._server is not None
        with smtplib.SMTP(cap._server.host, cap._server.port, timeout=5) as client:
            client.sendmail("a@x", ["b@y"], b"Subject: one\r\n\r\n1\r\n")
            assert [e.subject for e in directory.entries()] == ["one"]
            client.sendmail("a@x", ["c@y"], b"Subject: two\r\n\r\n2\r\n")
            assert [e.subject for e in directory.entries()] == ["one", "two"]
    assert directory.entry(2).rcpt_tos == ("c@y",)
    assert [e.name for e in CaptureDirectory(tmp_path / "nowhere").entries()] == []
    (tmp_path / "file").write_text("x")
    assert CaptureDirectory(tmp_path / "file").entries() == []
