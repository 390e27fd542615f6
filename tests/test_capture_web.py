"""`tclbridge capture serve`: the web viewer's endpoints over real HTTP to
a real server process (headers, escaping, downloads, 404s, binding, the
Host guard, release to a real recorder), and its message without the `ui`
extra. The browser tests are tests/test_capture_web_browser.py."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the ui extra (pip install -e '.[ui]')")

from tclbridge.capture_web import content_disposition, download_name  # noqa: E402
from tclbridge.recorder import RecordingServer, ServerScript  # noqa: E402
from tests.support.capture_files import (  # noqa: E402
    AUTH_SCRIPT,
    MULTIPART_SCRIPT,
    POLICY,
    POLICY_SCRIPT,
    capture_raw,
    capture_script,
)
from tests.support.capture_viewer import Viewer, serving  # noqa: E402
from tests.support.loopback import unlistened_port  # noqa: E402
from tests.support.tls_contexts import shared_ca  # noqa: E402

HOSTILE_SUBJECT = "<b>bold</b></script><script>alert(1)</script>"
# A file name with path separators and CRLF, as an RFC 2231 filename* value.
CRLF_FILENAME_2231 = "..%5C..%5Cevil%0D%0ASet-Cookie:%20x=1.txt"


def _hostile_message() -> bytes:
    return (
        f"From: <img src=x onerror=alert(1)>@example.com\r\n"
        f"To: ops@example.com\r\nSubject: {HOSTILE_SUBJECT}\r\n"
        "X-Hostile: \"><script>alert(2)</script>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\n</pre><script>alert(3)</script>\r\n"
        "--b\r\nContent-Type: application/x-sh\r\n"
        "Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.b64encode(b'root:x:0:0').decode()}\r\n"
        "--b\r\nContent-Type: text/html\r\n"
        f"Content-Disposition: attachment; filename*=UTF-8''{CRLF_FILENAME_2231}\r\n"
        "\r\n<script>alert(4)</script>\r\n"
        "--b--\r\n").encode()


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Captures 1: the bridge's multipart message; 2: hostile headers and
    file names; 3: a message sent with AUTH."""
    work = tmp_path_factory.mktemp("viewer")
    out = work / "captures"
    attachment = work / "report.bin"
    attachment.write_bytes(bytes(range(256)) * 4)
    script = work / "multipart.tcl"
    script.write_text(MULTIPART_SCRIPT)
    capture_script(out, script, "http://127.0.0.1:9", str(attachment))
    capture_raw(out, [("hostile@example.com", ["ops@example.com", '"<b>x</b>"@example.com'],
                       _hostile_message())])
    auth = work / "auth.tcl"
    auth.write_text(AUTH_SCRIPT)
    capture_script(out, auth, "alice", "pw-S3cret-never-shown")
    return out


@pytest.fixture(scope="module")
def viewer(directory: Path) -> Iterator[Viewer]:
    with serving(directory) as running:
        yield running


def _text(response: tuple[int, dict[str, str], bytes]) -> str:
    return response[2].decode("utf-8")


def test_the_list_shows_every_capture_with_its_columns(viewer: Viewer) -> None:
    status, headers, body = viewer.get("/")
    page = body.decode()
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    rows = re.findall(r'<tr data-number="(\d+)"', page)
    assert rows == ["1", "2", "3"]
    assert "Nightly &lt;report&gt;" in page
    assert "reports@example.com" in page and "ops@example.com" in page
    assert "yes (STARTTLS, TLSv1.3)" in page  # the bridge upgrades to TLS under capture
    assert '<script src="/static/list.js"></script>' in page


def test_the_json_list_has_what_the_page_polls_for(viewer: Viewer) -> None:
    status, headers, body = viewer.get("/api/messages")
    assert status == 200 and headers["content-type"] == "application/json"
    messages = json.loads(body)["messages"]
    assert [m["number"] for m in messages] == [1, 2, 3]
    first = messages[0]
    assert first["subject"] == "Nightly <report>"
    assert first["mail_from"] == "reports@example.com"
    assert first["rcpt_tos"] == ["ops@example.com"]
    assert first["size"] == (Path(viewer_dir(viewer)) / "0001.eml").stat().st_size
    assert first["tls"].startswith("yes (STARTTLS") and messages[1]["tls"] == "no"
    assert first["policy_refused"] is False


def viewer_dir(viewer: Viewer) -> str:
    args = viewer.process.args
    assert isinstance(args, list)
    return str(args[args.index("serve") + 1])


def test_search_by_sender_recipient_or_subject_as_a_query_parameter(viewer: Viewer) -> None:
    def numbers(query: str) -> list[int]:
        body = viewer.get(f"/api/messages?q={query}")[2]
        return [m["number"] for m in json.loads(body)["messages"]]

    assert numbers("NIGHTLY") == [1]  # subject, any case
    assert numbers("hostile@") == [2]  # sender
    assert numbers("%3Cb%3Ex") == [2]  # a recipient: "<b>x</b>"@example.com
    assert numbers("ops@example.com") == [1, 2, 3]
    assert numbers("nobody") == []
    page = _text(viewer.get("/?q=auth%40"))
    assert re.findall(r'<tr data-number="(\d+)"', page) == ["3"]
    assert 'value="auth@"' in page


def test_hostile_headers_are_escaped_everywhere(viewer: Viewer) -> None:
    for path in ("/", "/messages/2"):
        page = _text(viewer.get(path))
        assert "<script>alert" not in page, path
        assert "<b>bold</b>" not in page and "<img src=x" not in page, path
        assert html.escape(HOSTILE_SUBJECT, quote=False) in page.replace("&#34;", '"'), path
    message = _text(viewer.get("/messages/2"))
    assert "&lt;/pre&gt;&lt;script&gt;alert(3)" in message  # the text part, escaped
    assert "&lt;b&gt;x&lt;/b&gt;&#34;@example.com" in message
    # The JSON carries the values as they are (the page inserts them as text),
    # served as JSON, which a browser never renders as HTML.
    status, headers, body = viewer.get("/api/messages")
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["messages"][1]["subject"] == HOSTILE_SUBJECT


def test_every_page_has_a_strict_content_security_policy(viewer: Viewer) -> None:
    for path in ("/", "/messages/1", "/messages/99", "/api/messages"):
        headers = viewer.get(path)[1]
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp and headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
    assert "'unsafe-inline'" not in viewer.get("/")[1]["content-security-policy"]


def test_an_html_part_is_framed_sandboxed_and_served_without_scripts_or_loads(
        viewer: Viewer) -> None:
    page = _text(viewer.get("/messages/1"))
    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) == 1
    assert re.search(r"\ssandbox[\s>]", frames[0]) and "allow-" not in frames[0]
    src = re.search(r'src="([^"]+)"', frames[0])
    assert src is not None
    status, headers, body = viewer.get(src.group(1))
    assert status == 200 and headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp.split("; ")
    assert "script-src" not in csp and "img-src data: cid:" in csp
    assert b"<script>document.title" in body  # as captured: the policy stops it


def test_an_attachment_downloads_with_its_exact_bytes(viewer: Viewer, directory: Path) -> None:
    page = _text(viewer.get("/messages/1"))
    link = re.search(r'<a class="attachment" href="([^"]+)">report.bin</a>', page)
    assert link is not None
    status, headers, body = viewer.get(link.group(1))
    assert status == 200
    assert headers["content-disposition"] == 'attachment; filename="report.bin"'
    assert headers["content-type"] == "application/octet-stream"
    assert body == bytes(range(256)) * 4


def test_hostile_file_names_download_under_a_safe_name(viewer: Viewer) -> None:
    page = _text(viewer.get("/messages/2"))
    links = re.findall(r'<a class="attachment" href="([^"]+)">', page)
    assert len(links) == 2
    names = []
    for link in links:
        status, headers, body = viewer.get(link)
        assert status == 200 and headers["content-type"] == "application/octet-stream"
        assert "set-cookie" not in headers
        names.append(headers["content-disposition"])
    assert names[0] == 'attachment; filename="passwd"'
    assert "/" not in names[1] and "\\" not in names[1] and "\r" not in names[1]
    assert names[1] == 'attachment; filename="evil Set-Cookie: x=1.txt"'  # CRLF: one space


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\x\\a.exe", "a.exe"), (".bashrc", "bashrc"),
    ("a\r\nb\x00c\"d.txt", "abcd.txt"), ("", "fallback"), ("../..", "fallback"),
    (None, "fallback"), ("Bericht für März.pdf", "Bericht für März.pdf"),
])
def test_download_name(given: str | None, expected: str) -> None:
    assert download_name(given, "fallback") == expected


def test_content_disposition_keeps_non_ascii_names_in_filename_star() -> None:
    assert content_disposition("März; x.pdf") == (
        "attachment; filename=\"M_rz_ x.pdf\"; filename*=UTF-8''M%C3%A4rz%3B%20x.pdf")


def test_the_raw_source_is_plain_text_with_the_captured_bytes(
        viewer: Viewer, directory: Path) -> None:
    status, headers, body = viewer.get("/messages/2/raw")
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert body == (directory / "0002.eml").read_bytes()


def test_the_dialogue_is_shown_with_auth_hidden(viewer: Viewer) -> None:
    page = _text(viewer.get("/messages/3"))
    assert "AUTH" in page and "MAIL FROM:&lt;auth@example.com&gt;" in page
    secret = "pw-S3cret-never-shown"
    encoded = base64.b64encode(f"\0alice\0{secret}".encode()).decode()
    for hidden in (secret, encoded, base64.b64encode(secret.encode()).decode()):
        assert hidden not in page
    assert secret.encode() not in viewer.get("/messages/3/raw")[2]


@pytest.mark.parametrize("path", [
    "/messages/99", "/messages/99/raw", "/messages/1/parts/99/download",
    "/messages/1/parts/3/html", "/messages/x", "/nothing", "/messages/99/parts/1/download",
    # More digits than int() takes (4300): these were 500s.
    "/messages/" + "1" * 5000, "/messages/1/parts/" + "9" * 5000 + "/download",
    "/messages/" + "9" * 19,
])
def test_unknown_pages_are_404(viewer: Viewer, path: str) -> None:
    status, headers, body = viewer.get(path)
    assert status == 404
    assert headers["content-type"].startswith("text/html")


def test_a_message_file_that_is_not_a_regular_file_is_a_404_page(tmp_path: Path) -> None:
    """Anyone who can write DIR can swap a capture's .eml for a FIFO: the
    message page says so (it was a 500 "Internal Server Error")."""
    out = tmp_path / "out"
    capture_raw(out, [("a@example.com", ["b@example.com"], b"Subject: gone\r\n\r\nhi\r\n")])
    eml = next(out.glob("*.eml"))
    eml.unlink()
    os.mkfifo(eml)
    with serving(out) as running:
        status, headers, body = running.get("/messages/1")
    assert (status, headers["content-type"]) == (404, "text/html; charset=utf-8")
    assert f"cannot read {eml.name}: {eml.name} is not a regular file" in body.decode()


def test_a_part_nested_too_deeply_to_write_out_is_a_clear_error(tmp_path: Path) -> None:
    """Part 1 of a multipart nested 400 deep (the standard library's
    generator recurses once per level): a page saying why, not a 500."""
    levels = 400
    deep = b"Subject: deep\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(levels)) + b"Content-Type: text/plain\r\n\r\nleaf\r\n" + b"".join(
        b"\r\n--b%d--\r\n" % i for i in reversed(range(levels)))
    out = tmp_path / "out"
    capture_raw(out, [("a@example.com", ["b@example.com"], deep)])
    with serving(out) as running:
        status, headers, body = running.get("/messages/1/parts/1/download")
        leaf = running.get(f"/messages/1/parts/{levels + 1}/download")
    assert (status, headers["content-type"]) == (422, "text/html; charset=utf-8")
    assert "part 1 is nested too deeply to write out" in body.decode()
    assert (leaf[0], leaf[2]) == (200, b"leaf\r\n")


def test_a_foreign_host_header_is_refused(viewer: Viewer) -> None:
    """DNS rebinding: a page of attacker.example resolving to 127.0.0.1."""
    assert viewer.get("/api/messages", Host="attacker.example")[0] == 421
    assert viewer.get("/api/messages", Host=f"attacker.example:{viewer.port}")[0] == 421
    assert viewer.get("/api/messages", Host=f"localhost:{viewer.port}")[0] == 200
    assert viewer.get("/api/messages", Host=f"127.0.0.1:{viewer.port}")[0] == 200


def test_what_the_site_policy_refused_is_marked(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(POLICY)
    (tmp_path / "policy.tcl").write_text(POLICY_SCRIPT)
    out = tmp_path / "out"
    policy = ["--policy", str(tmp_path / "policy.toml")]
    capture_script(out, tmp_path / "policy.tcl", options=policy)
    with serving(out) as running:
        messages = json.loads(running.get("/api/messages")[2])["messages"]
        listing = _text(running.get("/"))
        sent, unsent = _text(running.get("/messages/1")), _text(running.get("/messages/2"))
        assert running.get("/messages/2/raw")[0] == 404
    assert [(m["number"], m["policy_refused"], m["sent"]) for m in messages] == [
        (1, True, True), (2, True, False)]
    assert listing.count('class="mark"') == 2
    assert "b@rivals.example: domain rivals.example is in deny_domains" in sent
    assert "not sent: the site policy kept it off the network" in unsent
    assert "e@rivals.example: domain rivals.example is in deny_domains" in unsent


def test_a_directory_that_does_not_exist_yet_fills_in(tmp_path: Path) -> None:
    later = tmp_path / "later"
    with serving(later) as running:
        status, _, body = running.get("/")
        assert status == 200 and b"captured yet" in body
        assert json.loads(running.get("/api/messages")[2]) == {"messages": []}
        capture_raw(later, [("a@example.com", ["b@example.com"], b"Subject: late\r\n\r\nhi\r\n")])
        messages = json.loads(running.get("/api/messages")[2])["messages"]
        assert [m["subject"] for m in messages] == ["late"]


def test_a_huge_message_keeps_the_list_fast(tmp_path: Path) -> None:
    """The list reads a message's head only: a 50 GB message (a sparse file,
    which no listing that read it whole could answer in time) is listed."""
    out = tmp_path / "huge"
    capture_raw(out, [("a@example.com", ["b@example.com"], b"Subject: huge\r\n\r\nx\r\n")])
    os.truncate(out / "0001.eml", 50 * 10**9)
    with serving(out) as running:
        started = time.monotonic()
        status, _, body = running.get("/api/messages")
        elapsed = time.monotonic() - started
    assert status == 200
    assert json.loads(body)["messages"][0]["subject"] == "huge"
    assert elapsed < 10, elapsed


def test_the_polled_list_names_ten_recipients_and_counts_the_rest(tmp_path: Path) -> None:
    """The list is polled every second: a .json with 200,000 recipients and a
    100 kB sender (any local client can make one) gives a small row."""
    out = tmp_path / "many"
    capture_raw(out, [("a@example.com", ["b@example.com"], b"Subject: many\r\n\r\nhi\r\n")])
    sidecar = out / "0001.json"
    record = json.loads(sidecar.read_text())
    record["rcpt_tos"] = [f"r{i}@example.com" for i in range(200_000)]
    record["mail_from"] = "s" * 100_000 + "@example.com"
    sidecar.write_text(json.dumps(record))
    with serving(out) as running:
        status, _, body = running.get("/api/messages")
        page = running.get("/")[2]
    assert status == 200 and len(body) < 10_000, len(body)
    row = json.loads(body)["messages"][0]
    assert row["rcpt_tos"] == [f"r{i}@example.com" for i in range(10)]
    assert row["rcpt_more"] == 199_990
    assert row["mail_from"] == "s" * 320 + "…"
    assert len(page) < 20_000 and "… and 199990 more" in page.decode()


# -- binding ------------------------------------------------------------------


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tclbridge", "capture", "serve", *args],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_a_host_that_is_not_loopback_is_refused(tmp_path: Path) -> None:
    result = _serve(str(tmp_path), "--host", "192.0.2.1", "--port", "0")
    assert result.returncode == 2
    assert "192.0.2.1 is not a loopback address" in result.stderr
    assert "--allow-remote" in result.stderr and result.stdout == ""


def test_allow_remote_lifts_the_refusal(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the bind fails,
    # after the loopback check let it through.
    result = _serve(str(tmp_path), "--host", "192.0.2.1", "--port", "0", "--allow-remote")
    assert result.returncode == 2
    assert "cannot listen on 192.0.2.1" in result.stderr
    assert "not a loopback address" not in result.stderr


@pytest.mark.parametrize("host", ["localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_are_served(tmp_path: Path, host: str) -> None:
    with serving(tmp_path, "--host", host) as running:
        assert re.match(r"http://(localhost|127\.0\.0\.\d|\[::1\]):\d+/$", running.url)
        assert running.process.poll() is None


@pytest.mark.parametrize("library", ["starlette", "uvicorn", "jinja2"])
def test_without_the_ui_extra_it_says_how_to_install_it(tmp_path: Path, library: str) -> None:
    blocker = (f"import sys; sys.modules[{library!r}] = None; sys.argv[0] = 'tclbridge';"
               " from tclbridge.cli import entry; entry()")
    result = subprocess.run(
        [sys.executable, "-c", blocker, "capture", "serve", str(tmp_path), "--port", "0"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert re.search(rf"\({library}(\.\w+)? is missing\)", result.stderr), result.stderr
    assert "pip install 'tclbridge[ui]'" in result.stderr
    assert "Traceback" not in result.stderr


# -- release ------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("TCLBRIDGE_POLICY", "/nonexistent/policy.toml", "/nonexistent/policy.toml"),
    ("TCLBRIDGE_TIMEOUT_SCALE", "soon", "TCLBRIDGE_TIMEOUT_SCALE"),
])
def test_release_with_a_bad_setting_stops_at_start(
        tmp_path: Path, variable: str, value: str, said: str) -> None:
    result = _serve(str(tmp_path), "--port", "0", "--release-to", "127.0.0.1:25",
                    **{variable: value})
    assert result.returncode == 2
    assert said in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def _token(viewer: Viewer, number: int) -> str:
    found = re.search(r'name="token" value="([^"]+)"', _text(viewer.get(f"/messages/{number}")))
    assert found is not None
    return found.group(1)


def _release(viewer: Viewer, number: int, token: str,
             **headers: str) -> tuple[int, dict[str, str], bytes]:
    return viewer.request("POST", f"/messages/{number}/release",
                          body=f"token={token}".encode(), headers={
                              "Content-Type": "application/x-www-form-urlencoded",
                              "Origin": viewer.url.rstrip("/"), **headers})


def test_release_sends_the_captured_message_to_the_relay(directory: Path) -> None:
    with RecordingServer() as relay, serving(directory, "--release-to",
                                             f"127.0.0.1:{relay.port}") as running:
        page = _text(running.get("/messages/1"))
        assert f"Release to 127.0.0.1:{relay.port}" in page
        status, _, body = _release(running, 1, _token(running, 1))
        assert status == 200
        assert f"Released: sent to 127.0.0.1:{relay.port}" in body.decode()
        assert len(relay.messages) == 1
        sent = relay.messages[0]
    assert sent.mail_from == "reports@example.com" and sent.rcpt_tos == ["ops@example.com"]
    assert sent.content == (directory / "0001.eml").read_bytes()


def _tls_relay() -> RecordingServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    shared_ca().issue_cert("127.0.0.1").configure_cert(context)
    return RecordingServer(ServerScript(capabilities=["STARTTLS"]), tls_context=context)


def test_release_upgrades_to_tls_and_verifies_with_the_environments_cafile(
        directory: Path, cafile: str) -> None:
    with _tls_relay() as relay, serving(directory, "--release-to", f"127.0.0.1:{relay.port}",
                                        env={"TCLBRIDGE_CAFILE": cafile}) as running:
        body = _release(running, 1, _token(running, 1))[2].decode()
        assert "Released: sent to" in body
        assert [m.tls is not None and m.tls.mode for m in relay.messages] == ["starttls"]


def test_release_to_a_relay_whose_certificate_is_not_trusted_sends_nothing(
        directory: Path) -> None:
    with _tls_relay() as relay, serving(directory, "--release-to",
                                        f"127.0.0.1:{relay.port}") as running:
        body = _release(running, 1, _token(running, 1))[2].decode()
        assert relay.messages == []
    assert "Not released (connection failed" in body
    assert "TLS certificate of 127.0.0.1 could not be verified" in body


def test_release_of_a_message_the_engine_refuses_sends_nothing(directory: Path) -> None:
    """Capture 2's CRLF in a filename* is header injection to the engine."""
    with RecordingServer() as relay, serving(directory, "--release-to",
                                             f"127.0.0.1:{relay.port}") as running:
        body = _release(running, 2, _token(running, 2))[2].decode()
        assert relay.sessions == []
    assert "Not released (not sent" in body
    assert "header injection refused" in body


def test_release_of_a_message_nested_too_deeply_sends_nothing_and_says_why(
        tmp_path: Path) -> None:
    """1,500 levels: the viewer shows it, the engine's parser recurses past
    Python's limit (a RecursionError: a 500 before; 700 levels are sent by
    3.12 and 3.13)."""
    levels = 1500
    deep = b"Subject: deep\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(levels)) + b"Content-Type: text/plain\r\n\r\nleaf\r\n" + b"".join(
        b"\r\n--b%d--\r\n" % i for i in reversed(range(levels)))
    out = tmp_path / "out"
    capture_raw(out, [("a@example.com", ["b@example.com"], deep)])
    with RecordingServer() as relay, serving(out, "--release-to",
                                             f"127.0.0.1:{relay.port}") as running:
        status, _, body = _release(running, 1, _token(running, 1))
        assert relay.sessions == []
    assert status == 200
    assert "Not released (not sent" in body.decode()
    assert "nested too deeply for the engine to send" in body.decode()


def test_release_shows_a_refusal_with_the_relays_reply(directory: Path) -> None:
    script = ServerScript(replies={"MAIL": "550 5.7.1 relaying denied for <you>"})
    with RecordingServer(script) as relay, serving(directory, "--release-to",
                                                   f"127.0.0.1:{relay.port}") as running:
        body = _release(running, 1, _token(running, 1))[2].decode()
        assert relay.messages == []
    assert "Not released (refused" in body
    assert "550 5.7.1 relaying denied for &lt;you&gt;" in body


def test_release_shows_a_connection_failure(directory: Path) -> None:
    with unlistened_port() as closed, \
            serving(directory, "--release-to", f"127.0.0.1:{closed}") as running:
        body = _release(running, 1, _token(running, 1))[2].decode()
    assert "Not released (connection failed" in body


def test_release_refuses_cross_site_and_tokenless_posts(directory: Path) -> None:
    with RecordingServer() as relay, serving(directory, "--release-to",
                                             f"127.0.0.1:{relay.port}") as running:
        token = _token(running, 1)
        assert _release(running, 1, token, Origin="http://attacker.example")[0] == 403
        assert _release(running, 1, token, **{"Sec-Fetch-Site": "cross-site"})[0] == 403
        assert _release(running, 1, "forged")[0] == 403
        assert _release(running, 1, "")[0] == 403
        assert running.request("GET", "/messages/1/release")[0] == 405
        assert relay.messages == [] and relay.sessions == []


def test_without_release_to_there_is_no_release(viewer: Viewer) -> None:
    assert "Release to" not in _text(viewer.get("/messages/1"))
    assert _release(viewer, 1, "anything")[0] == 404
