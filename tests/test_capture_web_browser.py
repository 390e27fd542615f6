"""`tclbridge capture serve` in a real headless Chromium (Debian's
chromium + chromium-driver, through Selenium): the list loads, a message
captured while the page is open appears without a reload, a multipart
message with an HTML part and an attachment opens, the HTML part's script
does not run and its remote image is not fetched, the attachment
downloads with its exact bytes, the search box filters, and the Release
button sends the message (the browser's own POST passes the cross-site
checks). One browser for the module."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the ui extra (pip install -e '.[ui]')")
pytest.importorskip("selenium", reason="the test extra (pip install -e '.[test]')")

from selenium.webdriver.common.by import By  # noqa: E402

from tclbridge.recorder import RecordingServer  # noqa: E402
from tests.support.browser import chromium, chromium_missing, wait_for  # noqa: E402
from tests.support.capture_files import (  # noqa: E402
    MULTIPART_SCRIPT,
    SMALL_SCRIPT,
    capture_script,
)
from tests.support.capture_viewer import Viewer, serving  # noqa: E402

if chromium_missing():
    pytest.fail(str(chromium_missing()), pytrace=False)

ATTACHMENT = bytes(range(256)) * 64 + b"\r\n.\r\nend\x00"


class _HitRecorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def remote() -> Iterator[tuple[str, list[str]]]:
    """An HTTP listener on 127.0.0.1 standing for a remote site: its URL and its hits."""
    hits: list[str] = []
    handler = type("Recorder", (_HitRecorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def captures(work: Path, remote: tuple[str, list[str]]) -> Path:
    """Capture 1: the multipart message, made by a real `tclbridge run --capture`."""
    out = work / "captures"
    (work / "report.bin").write_bytes(ATTACHMENT)
    (work / "multipart.tcl").write_text(MULTIPART_SCRIPT)
    capture_script(out, work / "multipart.tcl", remote[0], str(work / "report.bin"))
    return out


@pytest.fixture(scope="module")
def served(captures: Path) -> Iterator[Viewer]:
    with serving(captures) as running:
        yield running


@pytest.fixture(scope="module")
def browser(work: Path) -> Iterator[Any]:
    (work / "downloads").mkdir()
    with chromium(work / "profile", work / "downloads") as driver:
        yield driver


def _rows(browser: Any) -> list[list[str]]:
    """The list's cells as shown, read at one instant (the page may rebuild it)."""
    rows: list[list[str]] = browser.execute_script(
        "return Array.from(document.querySelectorAll('#messages tbody tr'),"
        " (row) => Array.from(row.cells, (cell) => cell.innerText));")
    return rows


def test_the_list_loads(browser: Any, served: Viewer) -> None:
    browser.get(served.url)
    assert browser.title == "Messages · tclbridge capture"
    rows = _rows(browser)
    assert len(rows) == 1
    number, _, sender, recipients, subject, size, tls, policy = rows[0]
    assert (number, sender, recipients, subject) == (
        "0001", "reports@example.com", "ops@example.com", "Nightly <report>")
    assert size.endswith("kB") and tls.startswith("yes (STARTTLS") and policy == ""


def test_a_message_captured_while_the_page_is_open_appears(
        browser: Any, served: Viewer, captures: Path, work: Path) -> None:
    browser.get(served.url)
    browser.execute_script("window.notReloaded = true;")
    assert len(_rows(browser)) == 1
    # Markup in the Subject: the live rows are built as text, as the page's are.
    subject = "<img src=x onerror=\"document.title='xss'\"> live"
    (work / "small.tcl").write_text(SMALL_SCRIPT)
    capture_script(captures, work / "small.tcl", subject)
    rows = wait_for(lambda: len(_rows(browser)) == 2 and _rows(browser), timeout=15)
    assert rows, "the new capture did not appear within 15 s"
    assert rows[1][0] == "0002" and rows[1][4] == subject
    assert browser.execute_script("return window.notReloaded") is True
    assert browser.find_elements(By.CSS_SELECTOR, "#messages img") == []
    assert browser.title == "Messages · tclbridge capture"


def test_a_multipart_message_opens(browser: Any, served: Viewer) -> None:
    browser.get(served.url)
    browser.find_element(By.LINK_TEXT, "Nightly <report>").click()
    wait_for(lambda: browser.current_url.endswith("/messages/1"))
    assert browser.find_element(By.ID, "subject").text == "Nightly <report>"
    tree = browser.find_element(By.CSS_SELECTOR, "ul.tree").text
    for line in ("1 multipart/mixed", "1.1 multipart/alternative", "1.1.1 text/plain",
                 "1.1.2 text/html", "1.2 application/octet-stream"):
        assert line in tree
    assert browser.find_element(By.CSS_SELECTOR, "pre.text").text == "Hello from text"
    assert len(browser.find_elements(By.CSS_SELECTOR, "iframe.html")) == 1
    assert browser.find_element(By.CSS_SELECTOR, "a.attachment").text == "report.bin"


def test_the_html_part_renders_without_running_its_script_or_loading_remote_content(
        browser: Any, served: Viewer, remote: tuple[str, list[str]]) -> None:
    browser.get(served.url + "messages/1")
    title = browser.title
    frame = browser.find_element(By.CSS_SELECTOR, "iframe.html")
    assert frame.get_attribute("sandbox") == ""  # no allow-scripts, no allow-same-origin
    browser.switch_to.frame(frame)
    try:
        greeting = wait_for(lambda: browser.find_elements(By.ID, "greeting"))
        assert greeting, "the HTML part did not render"
        assert greeting[0].text == "Hello from HTML"  # the script would have replaced it
        assert browser.execute_script("return document.title") != "script ran"
        image = browser.find_element(By.TAG_NAME, "img")
        assert browser.execute_script("return arguments[0].naturalWidth", image) == 0
    finally:
        browser.switch_to.default_content()
    assert browser.title == title
    # The page has loaded; a fetch of the image would have arrived by now.
    assert wait_for(lambda: remote[1], timeout=1.0) is None
    assert remote[1] == []


def test_the_attachment_downloads_with_its_exact_bytes(
        browser: Any, served: Viewer, work: Path) -> None:
    browser.get(served.url + "messages/1")
    browser.find_element(By.CSS_SELECTOR, "a.attachment").click()
    target = work / "downloads" / "report.bin"
    assert wait_for(target.exists, timeout=15), list((work / "downloads").iterdir())
    assert wait_for(lambda: target.read_bytes() == ATTACHMENT, timeout=5)


def test_the_search_box_filters_the_list(browser: Any, served: Viewer) -> None:
    browser.get(served.url)
    box = browser.find_element(By.ID, "search")
    box.send_keys("nightly")
    box.submit()
    assert wait_for(lambda: "q=nightly" in browser.current_url)
    assert [row[4] for row in _rows(browser)] == ["Nightly <report>"]
    assert browser.find_element(By.ID, "search").get_attribute("value") == "nightly"


def test_the_release_button_sends_the_message(browser: Any, captures: Path) -> None:
    with RecordingServer() as relay, serving(captures, "--release-to",
                                             f"127.0.0.1:{relay.port}") as running:
        browser.get(running.url + "messages/1")
        browser.find_element(By.ID, "release").click()
        outcome = wait_for(lambda: browser.find_elements(By.ID, "release-outcome"), timeout=15)
        assert outcome, "no outcome shown"
        assert outcome[0].text == f"Released: sent to 127.0.0.1:{relay.port}."
        assert [m.content for m in relay.messages] == [(captures / "0001.eml").read_bytes()]
