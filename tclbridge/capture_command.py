"""`tclbridge capture list|show|serve`: look at what `tclbridge run --capture
DIR` captured, in a terminal (list, show) or in a browser (serve, which needs
the `ui` extra). All three read DIR through tclbridge.capture_store."""

from __future__ import annotations

import argparse
import sys

from tclbridge.cli import parse_server

_DESCRIPTION = """\
Look at the mail a `tclbridge run --capture DIR` run captured: `list` the
messages, `show` one of them, or `serve` DIR as a web page."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "capture", help="list, show or serve (web page) the mail captured in a directory",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="one line per captured message",
                                 description="List the messages captured in DIR, in order.")
    listing.add_argument("dir", metavar="DIR", help="the capture directory")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.add_argument("--search", metavar="TEXT",
                         help="only messages whose sender, a recipient or Subject contains TEXT")

    show = actions.add_parser(
        "show", help="one captured message: envelope, headers, MIME tree, dialogue",
        description="Show capture N of DIR (N as `capture list` numbers it).")
    show.add_argument("dir", metavar="DIR", help="the capture directory")
    show.add_argument("number", metavar="N", type=int, help="the capture's number")
    what = show.add_mutually_exclusive_group()
    what.add_argument("--raw", action="store_true", help="print the message as delivered")
    what.add_argument("--dialogue", action="store_true",
                      help="print the SMTP dialogue (AUTH payloads hidden)")
    what.add_argument("--part", metavar="K", type=int,
                      help="print part K of the MIME tree, its transfer encoding undone")
    show.add_argument("--json", action="store_true", help="print the message's summary as JSON")

    serve = actions.add_parser(
        "serve", help="a web page of DIR's messages (needs `pip install tclbridge[ui]`)",
        description="Serve a web viewer of the captures in DIR, on this machine only unless"
        " --host names another address.")
    serve.add_argument("dir", metavar="DIR", help="the capture directory")
    serve.add_argument("--port", type=int, default=8025, metavar="N",
                       help="the port to listen on (default 8025; 0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                       help="the address to listen on (default 127.0.0.1, loopback)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="needed with a --host that is not a loopback address: anyone who"
                       " reaches it can read the captures")
    serve.add_argument("--release-to", metavar="HOST[:PORT]", type=parse_server,
                       help="offer a Release button that sends a message to this relay, through"
                       " the bridge's smtp with its TLS verification (default: no release)")


def main(opts: argparse.Namespace) -> int:
    if opts.action == "serve":
        try:
            from tclbridge import capture_web
        except ImportError as exc:
            sys.stderr.write(f"tclbridge capture serve needs the web viewer's libraries ({exc.name}"
                             " is missing): pip install 'tclbridge[ui]'\n")
            return 2
        return capture_web.main(opts)
    from tclbridge import capture_text

    return capture_text.main(opts)
