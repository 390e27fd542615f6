"""`tclbridge capture serve DIR`: a web viewer of a capture directory.

Starlette (routing, requests, responses) served by uvicorn, pages from
Jinja2 templates with autoescaping: every value shown comes from a script
or an SMTP client. The list page polls `/api/messages` (no websocket) so
captures appear while a script runs. A message's HTML part is served on
its own URL, framed by the message page in an `<iframe sandbox>` and sent
with a Content-Security-Policy that forbids scripts and every load but
inline styles and data: images; the app's own pages have a strict policy
too. Attachments are always downloads (never rendered), raw source is
text/plain. Release (`--release-to`) is a POST guarded by a per-server
token and the Origin header. Captures are read through
tclbridge.capture_store only.
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
import socket
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from tclbridge.capture import readable_size
from tclbridge.capture_store import (
    CaptureDirectory,
    CapturedMessage,
    CaptureEntry,
    CaptureNotFound,
    Part,
    TooDeep,
    dialogue,
)
from tclbridge.config import BridgeConfig, ConfigError
from tclbridge.host_port import format_host_port

_HERE = Path(__file__).resolve().parent
TEXT_SHOWN = 1_000_000  # characters of a text part shown on the message page
FORM_LIMIT = 4096  # bytes of a release POST's body read

# The app's pages: their own script and style only, no frame but ours.
APP_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
           " connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none';"
           " frame-ancestors 'none'")
# A captured HTML part: no script, nothing fetched (inline styles and data:
# or cid: images only), sandboxed even when opened outside its iframe.
MESSAGE_HTML_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:;"
                    " form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox")


class _NumberConvertor(Convertor[int]):
    """A capture or part number in a URL: at most 18 digits (`int` refuses a
    string of thousands, and the 500 it raised is no answer)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("number", _NumberConvertor())


@dataclass(frozen=True)
class ViewerSettings:
    directory: Path
    release_to: tuple[str, int] | None = None
    release_config: BridgeConfig | None = None
    allowed_hosts: frozenset[str] | None = None  # Host header names; None: any (--allow-remote)
    token: str = ""  # the release form's anti-forgery token


def make_app(settings: ViewerSettings) -> _Guard:
    store = CaptureDirectory(settings.directory)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals["release_to"] = (format_host_port(settings.release_to)
                                 if settings.release_to else None)
    env.globals["directory"] = str(settings.directory)

    def page(name: str, status: int = 200, **context: Any) -> Response:
        return Response(env.get_template(name).render(**context), status_code=status,
                        media_type="text/html; charset=utf-8")

    def not_found(text: str) -> Response:
        return page("error.html", 404, title="Not found", text=text)

    def number(request: Request) -> int:
        return int(request.path_params["number"])

    async def index(request: Request) -> Response:
        query = request.query_params.get("q", "")
        rows = [_row(e) for e in store.entries() if not query or e.matches(query)]
        return page("list.html", rows=rows, query=query)

    async def api_messages(request: Request) -> Response:
        query = request.query_params.get("q", "")
        rows = [_row(e) for e in store.entries() if not query or e.matches(query)]
        return JSONResponse({"messages": rows})

    async def message(request: Request) -> Response:
        try:
            entry = store.entry(number(request))
        except CaptureNotFound as exc:
            return not_found(str(exc))
        try:
            captured = store.message(entry.number) if entry.eml is not None else None
        except CaptureNotFound as exc:  # its file went, or is not a regular file
            return not_found(str(exc))
        return page("message.html", row=_row(entry), entry=entry, message=captured,
                    parts=_parts(captured) if captured else [],
                    dialogue=dialogue(entry.record), token=settings.token, outcome=None)

    def captured(request: Request) -> CapturedMessage | Response:
        try:
            return store.message(number(request))
        except CaptureNotFound as exc:
            return not_found(str(exc))

    def part_of(request: Request) -> tuple[CapturedMessage, Part] | Response:
        found = captured(request)
        if isinstance(found, Response):
            return found
        wanted = int(request.path_params["part"])
        try:
            part = found.part(wanted)
        except KeyError:
            return not_found(f"capture {found.entry.name} has no part {wanted}")
        return found, part

    async def raw(request: Request) -> Response:
        found = captured(request)
        if isinstance(found, Response):
            return found
        return Response(found.raw, media_type="text/plain; charset=utf-8",
                        headers={"Content-Security-Policy": "default-src 'none'; sandbox"})

    async def part_html(request: Request) -> Response:
        found = part_of(request)
        if isinstance(found, Response):
            return found
        _, part = found
        if part.content_type != "text/html":
            return not_found(f"part {part.number} is {part.content_type}, not text/html")
        return Response(part.text(), media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": MESSAGE_HTML_CSP,
                                 "X-Frame-Options": "SAMEORIGIN"})

    async def part_download(request: Request) -> Response:
        found = part_of(request)
        if isinstance(found, Response):
            return found
        message_, part = found
        name = download_name(part.filename, f"capture-{message_.entry.name}-part-{part.number}")
        try:
            content = part.content()
        except TooDeep as exc:  # a multipart part hundreds of levels deep
            return page("error.html", 422, title="Cannot download", text=str(exc))
        return Response(content, media_type="application/octet-stream", headers={
            "Content-Disposition": content_disposition(name),
            "Content-Security-Policy": "default-src 'none'; sandbox"})

    async def release(request: Request) -> Response:
        if settings.release_to is None or settings.release_config is None:
            return not_found("release is off: start the viewer with --release-to HOST[:PORT]")
        if not _same_origin(request):
            return page("error.html", 403, title="Forbidden",
                        text="a release must come from this viewer's own page")
        body = await _bounded_body(request)
        form = urllib.parse.parse_qs(body.decode("latin-1"))
        if not secrets.compare_digest(form.get("token", [""])[0], settings.token):
            return page("error.html", 403, title="Forbidden",
                        text="the release form is stale or forged: reload the message page")
        found = captured(request)
        if isinstance(found, Response):
            return found
        from tclbridge.capture_release import release as send_on

        outcome = await run_in_threadpool(send_on, found, settings.release_to,
                                          settings.release_config)
        entry = found.entry
        return page("message.html", row=_row(entry), entry=entry, message=found,
                    parts=_parts(found), dialogue=dialogue(entry.record),
                    token=settings.token, outcome=outcome)

    async def unknown(request: Request, exc: Exception) -> Response:
        return not_found(f"no page {request.url.path}")

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/messages", api_messages),
        Route("/messages/{number:number}", message),
        Route("/messages/{number:number}/raw", raw),
        Route("/messages/{number:number}/parts/{part:number}/html", part_html),
        Route("/messages/{number:number}/parts/{part:number}/download", part_download),
        Route("/messages/{number:number}/release", release, methods=["POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ], exception_handlers={404: unknown})
    return _Guard(app, settings.allowed_hosts)


class _Guard:
    """Around the app: refuse a Host header not ours (DNS rebinding: another
    site's page resolving its name to 127.0.0.1), and give every response
    the headers that keep the browser from sniffing, framing or referring."""

    def __init__(self, app: Starlette, allowed_hosts: frozenset[str] | None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        if self.allowed_hosts is not None and host_name(
                headers.get(b"host", b"").decode("latin-1")) not in self.allowed_hosts:
            response = Response("unknown Host\n", status_code=421, media_type="text/plain")
            await response(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(b"x-content-type-options", b"nosniff"),
                         # Not no-referrer: under it a browser's POST says
                         # "Origin: null", and the release check needs the origin.
                         (b"referrer-policy", b"same-origin"),
                         (b"cache-control", b"no-store")]
                if b"content-security-policy" not in names:
                    extra += [(b"content-security-policy", APP_CSP.encode()),
                              (b"x-frame-options", b"DENY")]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


# A list row names this many recipients (the rest as a count), each address
# at most ADDRESS_SHOWN characters: the page polls the list every second, and a
# capture's .json may hold any number of recipients, of any length.
LIST_RECIPIENTS = 10
ADDRESS_SHOWN = 320


def _clip(text: str) -> str:
    return text if len(text) <= ADDRESS_SHOWN else text[:ADDRESS_SHOWN] + "…"


def _row(entry: CaptureEntry) -> dict[str, Any]:
    """A list row, as the page and /api/messages give it (the message page
    shows the whole envelope)."""
    tls = entry.tls
    return {
        "number": entry.number, "name": entry.name, "url": f"/messages/{entry.number}",
        "time": (entry.captured_at or "").replace("T", " ")[:19],
        "captured_at": entry.captured_at,
        "mail_from": _clip(entry.mail_from),
        "rcpt_tos": [_clip(r) for r in entry.rcpt_tos[:LIST_RECIPIENTS]],
        "rcpt_more": max(0, len(entry.rcpt_tos) - LIST_RECIPIENTS),
        "subject": entry.subject,
        "size": entry.size, "size_text": readable_size(entry.size) if entry.size is not None
        else "",
        "tls": (f"yes ({'STARTTLS' if tls.get('mode') == 'starttls' else 'implicit TLS'}, "
                f"{tls.get('version', '?')})" if tls else "no"),
        "policy_refused": entry.policy_refused_any,
        "sent": entry.eml is not None,
    }


@dataclass(frozen=True)
class _PartView:
    part: Part
    depth: int
    size: int
    text: str | None  # text/plain shown inline
    text_clipped: bool
    html: bool
    attachment: bool


def _parts(message: CapturedMessage) -> list[_PartView]:
    views: list[_PartView] = []

    def visit(part: Part, depth: int) -> None:
        leaf = not part.is_multipart
        content = part.content() if leaf else b""
        is_text = leaf and part.content_type == "text/plain" and part.disposition != "attachment"
        text = part.text() if is_text else None
        views.append(_PartView(
            part, depth, len(content),
            text[:TEXT_SHOWN] if text is not None else None,
            text is not None and len(text) > TEXT_SHOWN,
            leaf and part.content_type == "text/html" and part.disposition != "attachment",
            leaf and (part.disposition == "attachment" or part.filename is not None
                      or not part.content_type.startswith("text/"))))
        for child in part.children:
            visit(child, depth + 1)

    visit(message.tree, 0)
    return views


def download_name(filename: str | None, fallback: str) -> str:
    """A file name safe to offer for download: the last path component,
    without control characters, quotes or a leading dot; `fallback` if
    nothing is left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"')
    name = name.strip().lstrip(".").strip()[:200]
    return name or fallback


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII filename and, for any other character, RFC 6266's filename*."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in name)
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
    return header


def _same_origin(request: Request) -> bool:
    """A browser sends Origin with a POST: it must be this server's. Sec-Fetch-Site
    (sent by browsers since 2020) must not say cross-site."""
    origin = request.headers.get("origin")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    if origin is None:
        return True  # not a browser's cross-site form: the token decides
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin == own


async def _bounded_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            break
    return bytes(body[:FORM_LIMIT])


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port: "[::1]:80" -> "::1"."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0].lower()
    return host_header.rsplit(":", 1)[0].lower() if host_header.count(":") == 1 else (
        host_header.lower())


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback address."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def _listen(host: str, port: int) -> socket.socket:
    info = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                              flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def main(opts: argparse.Namespace) -> int:
    host: str = opts.host
    if not opts.allow_remote and not is_loopback(host):
        sys.stderr.write(
            f"tclbridge capture serve: {host} is not a loopback address: anyone who can reach"
            " it could read the captured mail; add --allow-remote if that is what you want\n")
        return 2
    config = None
    if opts.release_to is not None:
        from tclbridge.site_policy import PolicyError

        try:
            config = BridgeConfig.from_env()
        except (ConfigError, PolicyError) as exc:
            sys.stderr.write(f"tclbridge capture serve: {exc}\n")
            return 2
    try:
        sock = _listen(host, opts.port)
    except (OSError, OverflowError) as exc:
        sys.stderr.write(f"tclbridge capture serve: cannot listen on {host} port {opts.port}:"
                         f" {getattr(exc, 'strerror', None) or exc}\n")
        return 2
    bound_host, port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    allowed = None if opts.allow_remote else frozenset(
        {"localhost", "127.0.0.1", "::1", host.strip("[]").lower(), bound_host.lower()})
    settings = ViewerSettings(Path(opts.dir), opts.release_to, config, allowed,
                              secrets.token_urlsafe(32))
    print(f"tclbridge capture serve: http://{shown}:{port}/ (Ctrl-C stops)", flush=True)
    server = uvicorn.Server(uvicorn.Config(make_app(settings), log_level="warning",
                                           access_log=False, lifespan="off"))
    server.run(sockets=[sock])
    return 0
