"""A headless Chromium for the web viewer's tests: Debian's `chromium`
driven through its `chromium-driver` by Selenium, with the flags that keep
it off the network it cannot reach here, a fresh profile and a download
directory of the test's own."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
)
T = TypeVar("T")


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if shutil.which("chromium") is None:
        return "Debian's chromium is not installed (scripts/bootstrap.sh test installs it)"
    if not Path(CHROMEDRIVER).exists():
        return "Debian's chromium-driver is not installed (scripts/bootstrap.sh test installs it)"
    return None


@contextmanager
def chromium(profile: Path, downloads: Path) -> Iterator[object]:
    """A selenium webdriver.Chrome on a fresh profile, saving downloads to `downloads`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
        "safebrowsing.enabled": False,
    })
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def wait_for(condition: Callable[[], T | None], timeout: float = 10.0,
             interval: float = 0.1) -> T | None:
    """`condition()`'s first true value, polled until `timeout`; None if none came."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)
