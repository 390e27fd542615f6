"""The delivery log (`tclbridge run --log FILE`, `--syslog`): one line for each
transaction a send makes, in the spirit of msmtp's log, for operators to grep.

A line is `key=value` pairs separated by single spaces, always in this order:

    time pid script transaction outcome status from rcpt... server tls size msgid detail

(`rcpt` once per recipient, as `ADDRESS:CODE`). A value is written bare
unless it is empty or holds a space, `"`, `\\` or `=`; then it is in double
quotes, with `"` and `\\` escaped by a backslash. A character that is not
printable (CR, LF, any control or format character, a byte that is not
UTF-8) is written as \\xNN, \\uNNNN or \\UNNNNNNNN, inside quotes: a line
is always one line, whatever an address, a Message-ID or a server says.
Values longer than MAX_VALUE characters are cut, saying how much was cut.
docs/DELIVERY_LOG.md is the reference; `parse_line` reads a line back.

No secret goes in: no password, no AUTH exchange, no message content.

The file is opened for each line with O_APPEND and the line written with
one write(2), so several processes can share it (and logrotate needs no
signal). A failure to write is said once on stderr; the send goes on.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import socket
import sys
import threading
from datetime import datetime

from tclbridge.delivery import Delivery, Outcome
from tclbridge.printable import printable

SYSLOG_SOCKET_ENV = "TCLBRIDGE_SYSLOG_SOCKET"  # another socket than /dev/log
SYSLOG_SOCKET = "/dev/log"
SYSLOG_TIMEOUT = 2.0  # seconds a line may wait for a busy syslog daemon
MAX_VALUE = 1000  # characters of one value kept (an address, a Message-ID, a reply)
NOT_GIVEN = "-"  # a value that does not apply (no size before DATA, no reply, ...)

_NEEDS_QUOTES = re.compile(r'[\s"\\=]')
_PAIR = re.compile(r'([a-z]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?: |$)')
_ESCAPE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)")


class LogUnavailable(Exception):
    """The log cannot be opened (said when the run starts)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason)
        self.where = where  # "file" or "syslog"
        self.reason = reason


# -- the line -------------------------------------------------------------------------


def quote(text: str) -> str:
    """`text` as a value: bare, or quoted and escaped (see the module)."""
    if len(text) > MAX_VALUE:
        text = f"{text[:MAX_VALUE]}[{len(text) - MAX_VALUE} more characters]"
    if text and not _NEEDS_QUOTES.search(text) and text.isprintable():
        return text
    return '"' + printable(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def format_line(delivery: Delivery, *, script: str, pid: int, when: datetime) -> str:
    """The log line for one transaction (no line end)."""
    pairs: list[tuple[str, str]] = [
        ("time", when.isoformat(timespec="milliseconds")),
        ("pid", str(pid)),
        ("script", script),
        ("transaction", delivery.transaction),
        ("outcome", delivery.outcome.value),
        ("status", NOT_GIVEN if delivery.status is None else str(delivery.status)),
        ("from", delivery.sender),
    ]
    pairs += [("rcpt", f"{r.address}:{NOT_GIVEN if r.code is None else r.code}")
              for r in delivery.recipients]
    pairs += [
        ("server", ",".join(delivery.servers) or NOT_GIVEN),
        ("tls", delivery.tls or "no"),
        ("size", NOT_GIVEN if delivery.size is None else str(delivery.size)),
        ("msgid", NOT_GIVEN if delivery.message_id is None else delivery.message_id),
        ("detail", delivery.detail),
    ]
    return " ".join(f"{key}={quote(value)}" for key, value in pairs)


def _unescape(match: re.Match[str]) -> str:
    escape = match.group(1)
    return chr(int(escape[1:], 16)) if len(escape) > 1 else escape


def parse_line(line: str) -> list[tuple[str, str]]:
    """A log line's (key, value) pairs in order, values unquoted and
    unescaped (an escaped byte that was not UTF-8 comes back as that code
    point). ValueError if `line` is not such a line."""
    line = line.rstrip("\n")
    pairs: list[tuple[str, str]] = []
    position = 0
    while position < len(line):
        match = _PAIR.match(line, position)
        if match is None:
            raise ValueError(f"not a delivery log line at character {position}: {line!r}")
        key, value = match.groups()
        if value.startswith('"'):
            value = _ESCAPE.sub(_unescape, value[1:-1])
        pairs.append((key, value))
        position = match.end()
    return pairs


# -- where lines go -------------------------------------------------------------------


class _SyslogHandler(logging.handlers.SysLogHandler):
    """A SysLogHandler that tells its owner of a failure instead of printing
    a traceback (logging's default)."""

    failed: str | None = None

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.failed = str(sys.exc_info()[1] or "unknown error")


# One handler (one socket) per address for the process: the Python API
# builds a log for each send that has no config of its own.
_syslog_handlers: dict[str, _SyslogHandler] = {}
_syslog_lock = threading.Lock()


def _syslog_handler(address: str) -> _SyslogHandler:
    with _syslog_lock:
        handler = _syslog_handlers.get(address)
        if handler is None:
            try:
                # SysLogHandler itself says nothing when the socket is missing
                # (Python 3.11 and later): the run would log nowhere.
                _probe_unix_socket(address)
                handler = _SyslogHandler(address, facility=_SyslogHandler.LOG_MAIL)
            except OSError as exc:
                raise LogUnavailable("syslog", f"cannot connect to {address}: "
                                     f"{exc.strerror or exc}") from None
            sock = getattr(handler, "socket", None)  # not in typeshed's stubs
            if sock is not None:
                # A stuck syslog daemon must not hold up the mail.
                sock.settimeout(SYSLOG_TIMEOUT)
            handler.ident = "tclbridge: "
            _syslog_handlers[address] = handler
        return handler


def _probe_unix_socket(address: str) -> None:
    """Connect to the Unix socket `address` as SysLogHandler will (datagram,
    else stream); raises the OSError of the first failure."""
    failure: OSError | None = None
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_UNIX, kind) as probe:
            try:
                probe.connect(address)
                return
            except OSError as exc:
                failure = failure or exc
    assert failure is not None
    raise failure


def _script_name(script: str | None) -> str:
    if script is None:
        script = sys.argv[0] if sys.argv else ""
    if script in ("", "-", "-c"):
        return script
    return os.path.abspath(script)


class DeliveryLog:
    """The observer the engine calls with each `Delivery`: writes its line to
    the file and/or syslog."""

    def __init__(self, path: str | None, syslog: _SyslogHandler | None, script: str) -> None:
        self.path = path
        self.syslog = syslog
        self.script = script
        self._warned: set[str] = set()

    @classmethod
    def open(cls, path: str | None, *, syslog: bool = False,
             script: str | None = None) -> DeliveryLog:
        """A log to the file `path` (if not None) and to syslog (the socket
        $TCLBRIDGE_SYSLOG_SOCKET or /dev/log); LogUnavailable if either
        cannot be opened now."""
        if path is not None:
            try:
                os.close(_open_for_append(path))
            except OSError as exc:
                raise LogUnavailable("file", f"cannot open {path} for appending: "
                                     f"{exc.strerror or exc}") from None
        handler = None
        if syslog:
            handler = _syslog_handler(os.environ.get(SYSLOG_SOCKET_ENV) or SYSLOG_SOCKET)
        return cls(path, handler, _script_name(script))

    def __call__(self, delivery: Delivery) -> None:
        line = format_line(delivery, script=self.script, pid=os.getpid(),
                           when=datetime.now().astimezone())
        if self.path is not None:
            try:
                _append(self.path, line)
            except OSError as exc:
                self._warn(f"cannot write the delivery log {self.path}: {exc.strerror or exc}")
        if self.syslog is not None:
            level = logging.INFO if delivery.outcome is Outcome.SENT else logging.ERROR
            record = logging.LogRecord("tclbridge.delivery", level, __file__, 0, line, None, None)
            self.syslog.failed = None
            self.syslog.handle(record)
            if self.syslog.failed is not None:
                self._warn(f"cannot write the delivery log to syslog: {self.syslog.failed}")

    def _warn(self, text: str) -> None:
        """Once per kind of failure: a script sending a thousand messages
        to a full disk gets one warning, not a thousand."""
        kind = text.split(":", 1)[0]
        if kind in self._warned:
            return
        self._warned.add(kind)
        sys.stderr.write(f"tclbridge: warning: {text} (the mail is sent all the same; "
                         "later failures are not reported)\n")
        sys.stderr.flush()


def _open_for_append(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _append(path: str, line: str) -> None:
    """One write(2) of the whole line, at the end of the file whoever else
    appends (O_APPEND): lines of several processes never interleave."""
    data = (line + "\n").encode("utf-8")
    fd = _open_for_append(path)
    try:
        written = os.write(fd, data)
        if written != len(data):  # only on a full disk or a signal: finish it
            os.write(fd, data[written:])
    finally:
        os.close(fd)
