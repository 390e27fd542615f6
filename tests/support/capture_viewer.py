"""`tclbridge capture serve` as a real child process, and plain HTTP
requests to it (http.client: headers as sent, nothing added or fixed)."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.processes import read_until

_URL = re.compile(rb"http://\S+/")


@dataclass(frozen=True)
class Viewer:
    url: str  # "http://127.0.0.1:PORT/"
    process: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return (response.status, {k.lower(): v for k, v in response.getheaders()},
                    response.read())
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, headers=headers)


@contextmanager
def serving(directory: Path, *args: str, env: Mapping[str, str] | None = None,
            python: str = sys.executable) -> Iterator[Viewer]:
    """`python -m tclbridge capture serve DIR --port 0 ARGS...` until the block ends."""
    process = subprocess.Popen(
        [python, "-m", "tclbridge", "capture", "serve", str(directory), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
        env={**os.environ, **(env or {})})
    try:
        assert process.stdout is not None
        line = read_until(process.stdout, b"\n", timeout=30)
        found = _URL.search(line)
        if found is None:
            process.kill()
            _, err = process.communicate(timeout=30)
            raise AssertionError(f"no URL from capture serve: {line!r} {err!r}")
        yield Viewer(found.group().decode(), process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
