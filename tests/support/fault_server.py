"""A fault-injection SMTP server for tests: plain sockets on 127.0.0.1, so a
test controls every byte the client reads.

aiosmtpd cannot split a reply into 1-byte segments, answer garbage or stop
reading in the middle of DATA; this server can. It speaks just enough ESMTP
(EHLO/HELO, STARTTLS with a trustme certificate, AUTH PLAIN/LOGIN with checked
credentials, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and, at one stage of a
connection, misbehaves in one way::

    with FaultServer([Fault("rcpt", "5xx", occurrence=2)]) as srv:
        run_script(port=srv.port)
    srv.connections[0].commands          # every client line, CRLF removed
    srv.connections[0].transactions[0]   # mail_from, rcpt_tos, raw data, verdict

Stages: connect, greeting, ehlo, starttls, auth, mail, rcpt (`occurrence`
picks the RCPT), data, body (once the first body bytes arrived), dot (the
reply to the final dot), quit. Faults: close, 4xx, 5xx, garbage, short,
split (the normal reply, one byte per segment), 1mb (the normal reply with a
1 MB text), silent (say nothing; at "body": stop reading), endless (a
multi-line reply that never ends: a "CODE-" line every 50 ms). Two more for
load tests: "delay" (the normal reply after `delay` seconds; at "body": read
64 KiB per `delay` seconds) and "lost-reply"
(at "dot": the message is accepted, then the connection drops before the
250). Two for attacks: "flood" (a multi-line reply of 64 MiB as fast as the
client reads, then its last line) and "inject" (at "starttls": the 220 and,
in the same segment, plain-text replies for EHLO, MAIL, RCPT, DATA and the
dot, as a man in the middle would send them; `delay` > 0 sends them in a
segment of their own that much later).

At "connect" there is no reply to spoil: close means nothing listens on the
port (connection refused) and silent that the SYN is never answered (the
listen queue is full). At "body" there is no reply either: 4xx/5xx/garbage/
short are sent early, in the middle of the body, and stand as the answer to
the transaction (the final dot gets nothing more).

`faults` is a list applied to every connection, or a callable taking the
connection's index (0, 1, ...) and returning that connection's list.

A transaction is `accepted` when the server took responsibility for the
message: it wrote a complete 250 after the dot (`replied_250`), or the
lost-reply fault accepted it and dropped the connection.
"""

from __future__ import annotations

import base64
import binascii
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType

import trustme

from tests.support.loopback import LoopbackServer

STAGES = (
    "connect", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "body", "dot",
    "quit",
)
FAULTS = ("close", "4xx", "5xx", "garbage", "short", "split", "1mb", "silent", "endless")
LOAD_FAULTS = ("delay", "lost-reply")
ATTACK_FAULTS = ("flood", "inject")

USERNAME = "fault-user"
PASSWORD = "fault-pass-Zq7"
LONG_TEXT = 1_000_000
GARBAGE = b"HTTP/1.1 400 Bad Request\r\n"
SHORT = b"25\r\n"
# A silent connection (or a stalled body) is given up after this long, so no
# server thread outlives a test by much.
SILENCE_LIMIT = 30.0
SPLIT_PAUSE = 0.0005
ENDLESS_PAUSE = 0.05
SLOW_READ = 65536  # what a "delay" fault at "body" reads per pause
FLOOD_LIMIT = 64 << 20
# What a man in the middle makes the client read as the TLS side's replies:
# EHLO without AUTH, then MAIL, RCPT, DATA and the final dot accepted.
INJECTED = (b"250-fault.example\r\n250 HELP\r\n250 2.1.0 ok\r\n250 2.1.5 ok\r\n"
            b"354 go ahead\r\n250 2.0.0 accepted\r\n")
MAX_COMMAND = 4096

TEMP_CODES = {"greeting": "421 4.3.2", "starttls": "454 4.7.0", "auth": "454 4.7.0"}
PERM_CODES = {"greeting": "554 5.3.2", "auth": "535 5.7.8", "rcpt": "550 5.1.1"}


@dataclass(frozen=True)
class Fault:
    stage: str
    kind: str
    occurrence: int = 1  # the n-th time the stage is reached in a connection
    delay: float = 0.0
    length: int = LONG_TEXT  # the extra text of a "1mb" reply

    def __post_init__(self) -> None:
        if self.stage not in STAGES or self.kind not in FAULTS + LOAD_FAULTS + ATTACK_FAULTS:
            raise ValueError(f"no such fault: {self.stage} {self.kind}")


@dataclass
class Transaction:
    mail_from: str
    rcpt_tos: list[str] = field(default_factory=list)
    data: bytes = b""  # as on the wire: CRLF, dot-stuffed, without the final ".\r\n"
    complete: bool = False  # the final dot arrived
    replied_250: bool = False
    accepted: bool = False


@dataclass
class Connection:
    index: int
    commands: list[str] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    faults_hit: list[Fault] = field(default_factory=list)
    tls: bool = False
    authenticated: bool = False
    reply_bytes: int = 0  # what an endless or flood reply sent before the client left


class _Closed(Exception):
    """The client went away, or the fault ended the connection."""


class FaultServer:
    def __init__(
        self,
        faults: Sequence[Fault] | Callable[[int], Sequence[Fault]] = (),
        *,
        tls: bool = False,
        auth: bool = False,
        ca: trustme.CA | None = None,
    ) -> None:
        self._faults = faults
        self.tls = tls
        self.auth = auth
        self.ca = ca or (trustme.CA() if tls else None)
        self._context: ssl.SSLContext | None = None
        if tls:
            assert self.ca is not None
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(self._context)
        self.host = "127.0.0.1"
        self.port = 0
        self.connections: list[Connection] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: LoopbackServer | None = None
        self._listener: socket.socket | None = None  # only for the "connect silent" fault
        self._filler: socket.socket | None = None
        self._socks: list[socket.socket] = []

    # -- lifecycle ----------------------------------------------------------

    def faults_for(self, index: int) -> list[Fault]:
        return list(self._faults(index) if callable(self._faults) else self._faults)

    def start(self) -> FaultServer:
        connect_faults = {f.kind for f in self.faults_for(0) if f.stage == "connect"}
        if "close" in connect_faults:
            self._bound_socket().close()  # connection refused
            return self
        if "silent" in connect_faults:
            # A full accept queue: the kernel drops further SYNs unanswered.
            listener = self._bound_socket()
            listener.listen(0)
            self._filler = socket.create_connection((self.host, self.port))
            self._listener = listener
            return self
        self._server = LoopbackServer(self._accept, name="fault-server").start()
        self.port = self._server.port
        return self

    def _bound_socket(self) -> socket.socket:
        """A socket on a free port of 127.0.0.1, which becomes `port`."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        return sock

    def stop(self) -> None:
        self._stop.set()  # also refuses connections still being accepted
        with self._lock:
            socks = [self._listener, self._filler, *self._socks]
        for sock in socks:
            if sock is None:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._server is not None:
            self._server.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- records ------------------------------------------------------------

    def transactions(self) -> list[Transaction]:
        with self._lock:
            return [t for c in self.connections for t in c.transactions]

    def answered_250(self) -> list[Transaction]:
        return [t for t in self.transactions() if t.replied_250]

    # -- serving ------------------------------------------------------------

    def _accept(self, sock: socket.socket) -> Callable[[], None]:
        if self._stop.is_set():
            return lambda: None  # stopping: the connection is just closed
        with self._lock:
            index = len(self.connections)
            conn = Connection(index)
            self.connections.append(conn)
            self._socks.append(sock)
        return partial(self._serve, sock, conn, self.faults_for(index))

    def _serve(self, sock: socket.socket, conn: Connection, faults: list[Fault]) -> None:
        session = _Session(self, sock, conn, faults)
        try:
            session.run()
        except (_Closed, OSError, ssl.SSLError):
            pass
        finally:
            try:
                session.sock.close()
            except OSError:
                pass


class _Session:
    """One connection: the dialogue, with the faults of this connection."""

    def __init__(
        self, server: FaultServer, sock: socket.socket, conn: Connection, faults: list[Fault]
    ) -> None:
        self.server = server
        self.sock: socket.socket = sock
        self.conn = conn
        self.faults = faults
        self.buffer = bytearray()
        self.seen: dict[str, int] = {}
        self.transaction: Transaction | None = None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(SILENCE_LIMIT)

    # -- faults ---------------------------------------------------------------

    def fault_at(self, stage: str) -> Fault | None:
        self.seen[stage] = self.seen.get(stage, 0) + 1
        for fault in self.faults:
            if fault.stage == stage and fault.occurrence == self.seen[stage]:
                self.conn.faults_hit.append(fault)
                return fault
        return None

    def reply(
        self, stage: str, normal: str, on_lost_reply: Transaction | None = None
    ) -> bool:
        """Send the normal reply for `stage`, or the fault's; False when the
        fault replaced the reply (the command did not take effect).
        `on_lost_reply` is the transaction a lost-reply fault accepts."""
        fault = self.fault_at(stage)
        if fault is None:
            self.send(normal.encode("latin-1") + b"\r\n")
            return True
        kind = fault.kind
        if kind == "lost-reply" and on_lost_reply is not None:
            on_lost_reply.accepted = True
            raise _Closed()
        if kind == "close":
            raise _Closed()
        if kind == "silent":
            self.stay_silent(reading=True)
        if kind in ("endless", "flood"):
            return self.endless_reply(normal[:3], fault)
        if kind == "inject":
            self.send(normal.encode("latin-1") + b"\r\n" + (b"" if fault.delay else INJECTED))
            if fault.delay:
                time.sleep(fault.delay)
                self.send(INJECTED)
            return True
        if kind == "4xx":
            self.send(f"{TEMP_CODES.get(stage, '451 4.3.0')} fault injected\r\n".encode())
            return False
        if kind == "5xx":
            self.send(f"{PERM_CODES.get(stage, '554 5.3.0')} fault injected\r\n".encode())
            return False
        if kind == "garbage":
            self.send(GARBAGE)
            return False
        if kind == "short":
            self.send(SHORT)
            return False
        data = normal.encode("latin-1") + b"\r\n"
        if kind == "split":
            for i in range(len(data)):
                self.send(data[i : i + 1])
                time.sleep(SPLIT_PAUSE)
            return True
        if kind == "1mb":
            first, sep, rest = data.partition(b"\r\n")
            self.send(first + b" " + b"x" * fault.length + sep + rest)
            return True
        if kind == "delay":
            if self.server._stop.wait(fault.delay):
                raise _Closed()
        self.send(data)
        return True

    def stay_silent(self, reading: bool) -> None:
        """Never answer again: read and drop what comes (or read nothing at
        all), until the client leaves, the server stops or the limit."""
        deadline = time.monotonic() + SILENCE_LIMIT
        while time.monotonic() < deadline and not self.server._stop.is_set():
            if not reading:
                self.server._stop.wait(0.1)
                continue
            self.sock.settimeout(0.1)
            try:
                if not self.sock.recv(65536):
                    break
            except TimeoutError:
                continue
        raise _Closed()

    def endless_reply(self, code: str, fault: Fault) -> bool:
        """CODE- lines, slowly and forever ("endless", until the client
        leaves or the silence limit) or as fast as they are read up to
        FLOOD_LIMIT bytes ("flood", then the last line)."""
        line = f"{code}-{'x' * 60}\r\n".encode()
        burst = line * (1 if fault.kind == "endless" else 1024)
        deadline = time.monotonic() + SILENCE_LIMIT
        while time.monotonic() < deadline and not self.server._stop.is_set():
            if fault.kind == "flood" and self.conn.reply_bytes >= FLOOD_LIMIT:
                self.send(f"{code} end of flood\r\n".encode())
                return True
            self.send(burst)
            self.conn.reply_bytes += len(burst)
            if fault.kind == "endless":
                time.sleep(ENDLESS_PAUSE)
        raise _Closed()

    # -- I/O -------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> str:
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_COMMAND:
                raise _Closed()
            self.recv()
        line, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer = bytearray(rest)
        text = line.removesuffix(b"\r").decode("latin-1")
        self.conn.commands.append(text)
        return text

    def recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise _Closed()
        self.buffer += data
        return data

    # -- the dialogue ----------------------------------------------------------

    def run(self) -> None:
        self.reply("greeting", "220 fault.example ESMTP fault server")
        while True:
            line = self.read_line()
            verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
            handler = getattr(self, f"do_{verb.lower()}", None)
            if handler is None:
                self.send(b"500 5.5.2 command not recognized\r\n")
                continue
            handler(line)

    def do_ehlo(self, line: str) -> None:
        lines = ["250-fault.example", "250-SIZE 10000000", "250-8BITMIME"]
        if self.server.tls and not self.conn.tls:
            lines.append("250-STARTTLS")
        if self.server.auth and not self.conn.authenticated:
            lines.append("250-AUTH PLAIN LOGIN")
        lines.append("250 HELP")
        self.reply("ehlo", "\r\n".join(lines))

    def do_helo(self, line: str) -> None:
        self.send(b"250 fault.example\r\n")

    def do_starttls(self, line: str) -> None:
        if self.server._context is None or self.conn.tls:
            self.send(b"454 4.7.0 TLS not available\r\n")
            return
        if self.reply("starttls", "220 2.0.0 ready to start TLS"):
            self.sock.settimeout(SILENCE_LIMIT)
            self.sock = self.server._context.wrap_socket(self.sock, server_side=True)
            with self.server._lock:
                self.server._socks.append(self.sock)
            self.conn.tls = True
            self.buffer.clear()

    def do_auth(self, line: str) -> None:
        words = line.split()
        mech = words[1].upper() if len(words) > 1 else ""
        if mech == "PLAIN":
            if not self.reply("auth", "334 "):
                return
            answers = [self.read_line()]
            if answers[0] != "*":
                user, password = _plain_credentials(answers[0])
        elif mech == "LOGIN":
            if not self.reply("auth", "334 VXNlcm5hbWU6"):
                return
            answers = [self.read_line()]
            if answers[0] != "*":
                self.send(b"334 UGFzc3dvcmQ6\r\n")
                answers.append(self.read_line())
                user, password = _b64(answers[0]), _b64(answers[1])
        else:
            self.send(b"504 5.5.4 unrecognized authentication type\r\n")
            return
        if "*" in answers:
            self.send(b"501 5.7.0 authentication cancelled\r\n")
        elif (user, password) == (USERNAME, PASSWORD):
            self.conn.authenticated = True
            self.send(b"235 2.7.0 authentication succeeded\r\n")
        else:
            self.send(b"535 5.7.8 authentication credentials invalid\r\n")

    def do_mail(self, line: str) -> None:
        if self.reply("mail", "250 2.1.0 sender ok"):
            self.transaction = Transaction(_address(line))
            with self.server._lock:
                self.conn.transactions.append(self.transaction)

    def do_rcpt(self, line: str) -> None:
        if self.transaction is None:
            self.send(b"503 5.5.1 need MAIL first\r\n")
            return
        if self.reply("rcpt", "250 2.1.5 recipient ok"):
            self.transaction.rcpt_tos.append(_address(line))

    def do_rset(self, line: str) -> None:
        self.transaction = None
        self.send(b"250 2.0.0 reset\r\n")

    def do_noop(self, line: str) -> None:
        self.send(b"250 2.0.0 ok\r\n")

    def do_quit(self, line: str) -> None:
        self.reply("quit", "221 2.0.0 bye")
        raise _Closed()

    def do_data(self, line: str) -> None:
        transaction = self.transaction
        if transaction is None or not transaction.rcpt_tos:
            self.send(b"503 5.5.1 need RCPT first\r\n")
            return
        if not self.reply("data", "354 end data with <CR><LF>.<CR><LF>"):
            return
        self.transaction = None
        early = self._read_body(transaction)
        transaction.complete = True
        if early:
            return  # the early reply was the answer
        if self.reply("dot", "250 2.0.0 message accepted", on_lost_reply=transaction):
            transaction.replied_250 = transaction.accepted = True

    def _read_body(self, transaction: Transaction) -> bool:
        """Read up to the final dot, with the body-stage fault; True when an
        early reply was sent."""
        data = self.buffer
        self.buffer = bytearray()
        if not data:
            self.recv()
            data, self.buffer = self.buffer, bytearray()
        early = False
        fault = self.fault_at("body")
        if fault is not None and fault.kind == "delay":
            return self._read_body_slowly(transaction, data, fault.delay)
        if fault is not None:
            if fault.kind == "close":
                raise _Closed()
            if fault.kind == "silent":
                self.stay_silent(reading=False)
            early = self._early_reply(fault.kind)
        while True:
            end = _final_dot(data)
            if end >= 0:
                transaction.data = bytes(data[:end])
                self.buffer = bytearray(data[end + 3 :])
                return early
            self.recv()
            data += self.buffer
            self.buffer = bytearray()

    def _read_body_slowly(self, transaction: Transaction, data: bytearray, pause: float) -> bool:
        """A slow reader: SLOW_READ bytes every `pause` seconds."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_READ)
        deadline = time.monotonic() + SILENCE_LIMIT
        while _final_dot(data) < 0:
            if time.monotonic() > deadline or self.server._stop.wait(pause):
                raise _Closed()
            chunk = self.sock.recv(SLOW_READ)
            if not chunk:
                raise _Closed()
            data += chunk
        end = _final_dot(data)
        transaction.data = bytes(data[:end])
        self.buffer = bytearray(data[end + 3 :])
        return False

    def _early_reply(self, kind: str) -> bool:
        replies = {"4xx": b"451 4.3.0 fault injected\r\n", "5xx": b"554 5.3.0 fault injected\r\n",
                   "garbage": GARBAGE, "short": SHORT}
        if kind not in replies:
            return False  # split, 1mb, delay: nothing to say in the middle of a body
        self.send(replies[kind])
        return True


def _final_dot(data: bytearray) -> int:
    """Where the terminating ".\\r\\n" starts, or -1."""
    if data.startswith(b".\r\n"):
        return 0
    at = data.find(b"\r\n.\r\n")
    return at + 2 if at >= 0 else -1


def _address(line: str) -> str:
    start, end = line.find("<"), line.find(">")
    return line[start + 1 : end] if 0 <= start < end else line.split(":", 1)[-1].strip()


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _plain_credentials(payload: str) -> tuple[str, str]:
    parts = _b64(payload).split("\0")
    return (parts[1], parts[2]) if len(parts) == 3 else ("", "")
