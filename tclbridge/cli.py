"""`tclbridge run SCRIPT [ARGS...]`: run a legacy Tcl script like tclsh, with
the bridge's smtp and mime. This module is the one place where outcomes
become exit codes."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import SimpleNamespace

from tclbridge import __version__, settings_file
from tclbridge.config import (
    ERROR_REPORT_ENV,
    BridgeConfig,
    ConfigError,
    capture_directory,
    check_cafiles,
    delivery_log,
    use_for_process,
)
from tclbridge.environment import (
    CAPTURE_ENV,
    CAPTURE_SERVER_ENV,
    LOG_ENV,
    POLICY_ENV,
    SERVER_ENV,
    SYSLOG_ENV,
    describe,
)
from tclbridge.host_port import parse_host_port
from tclbridge.interp import Interp, TclError
from tclbridge.tcl.exit_proc import exit_proc

# typing is for type checkers only: importing it costs every `tclbridge run`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import NoReturn

    from tclbridge.display import CaptureDisplay
    from tclbridge.sandbox import CaptureEndpoint
    from tclbridge.site_policy import SitePolicy


def parse_server(text: str) -> tuple[str, int]:
    import argparse

    try:
        return parse_host_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_size(text: str) -> int:
    import argparse

    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise argparse.ArgumentTypeError(f"expected a number of bytes (1 or more), not {text!r}")
    return size


_DESCRIPTION = """Run legacy Tcl mail scripts (tcllib's smtp and mime packages) unchanged,
on a Python engine. `tclbridge COMMAND --help` describes a command; `tclbridge
help` lists the documentation installed with tclbridge."""

_RUN_DESCRIPTION = """Run SCRIPT as tclsh would, with the bridge's smtp and mime packages
instead of tcllib's. Settings also come from TCLBRIDGE_* environment variables
(`tclbridge help reference` lists them). Exit status: the script's own (`exit
N`, 0 when it ends), 1 when it ends with an uncaught error, 2 for a bad option
or setting, 70 for an internal error; a signal ends it as that signal would
(130 for Ctrl-C)."""


def _build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; for a known `command` only that subcommand's module is
    imported (`run` must start fast: their imports cost more than Tcl's)."""
    import argparse

    parser = argparse.ArgumentParser(prog="tclbridge", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"tclbridge {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run a Tcl script like tclsh, with the bridge's smtp/mime",
                         description=_RUN_DESCRIPTION)
    run.add_argument(
        "--capture", metavar="DIR",
        help="deliver all mail into DIR instead, in a private network namespace"
        " (default: $TCLBRIDGE_CAPTURE)",
    )
    run.add_argument(
        "--capture-max-size", metavar="BYTES", type=positive_size,
        help="with --capture: refuse (552) a message larger than this (default: any size)",
    )
    run.add_argument(
        "--server", metavar="HOST[:PORT]", type=parse_server,
        help="send all mail to this server instead of the script's -servers"
        " (default: $TCLBRIDGE_SERVER)",
    )
    run.add_argument(
        "--implicit-tls-server", metavar="HOST[:PORT]", type=parse_server,
        help="with --server: send -tlsimport 1 connections (TLS from the first byte) here"
        " instead (default: the --server)",
    )
    run.add_argument(
        "--cafile", metavar="FILE", action="append", default=[],
        help="also trust this CA certificate (PEM) for TLS; repeatable",
    )
    run.add_argument(
        "--tls-no-verify", action="store_true",
        help="do not verify TLS certificates (tcllib's behaviour; unsafe)",
    )
    run.add_argument(
        "--allow-display", action="store_true",
        help="under capture, let the script use your X display ($DISPLAY); a program on it"
        " is outside the sandbox, so mail sent through it is not captured",
    )
    run.add_argument(
        "--policy", metavar="FILE",
        help="obey this site policy (a TOML file: `tclbridge help policy`);"
        " default: $TCLBRIDGE_POLICY",
    )
    run.add_argument(
        "--log", metavar="FILE",
        help="append a line to FILE for each message sent or refused (the delivery log:"
        " `tclbridge help delivery-log`); default: $TCLBRIDGE_LOG",
    )
    run.add_argument(
        "--syslog", action="store_true",
        help="write the delivery log's lines to syslog too (facility mail); default:"
        " $TCLBRIDGE_SYSLOG",
    )
    run.set_defaults(encoding=None)
    run.add_argument("script", metavar="SCRIPT", help="the Tcl script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="arguments for the script (its $argv); options after SCRIPT go to"
                     " the script")
    for module in _subcommand_modules(command):
        module.add_parser(sub)
    return parser


# Other subcommands live in modules of their own, each with
# `add_parser(subparsers)` and `main(opts) -> int` (the exit code).
_SUBCOMMANDS: dict[str, str] = {"check": "tclbridge.check_command", "scan": "tclbridge.scan",
                                "capture": "tclbridge.capture_command",
                                "help": "tclbridge.help_command"}


def _subcommand_modules(command: str | None = None) -> list:
    import importlib

    if command in _SUBCOMMANDS:
        return [importlib.import_module(_SUBCOMMANDS[command])]
    if command == "run":
        return []
    return [importlib.import_module(name) for name in _SUBCOMMANDS.values()]


# `exit` is gone from tkinter interpreters. Like tclsh's, ours cannot be
# caught: it flushes, runs the bridge's exit hooks and ends the process.
_EXIT_PROC = exit_proc("::tclbridge::py::exit $code")


def run_script(script: str | None, args: Sequence[str], config: BridgeConfig,
               error_report: str | None = None, *, encoding: str | None = None,
               program: str | None = None) -> int:
    """Run `script` as tclsh would (read as `encoding`, default the system's);
    return the process exit code. An uncaught error's message is also
    written to the file `error_report`, if given. `program`: tclbridge-tclsh's
    own path, given to the script as tclsh gives its own; with it, no
    `script` reads commands from stdin as tclsh does."""
    bridge = Interp(config)

    def request_exit(code: str) -> None:
        _finish(int(code))

    # Registered as it is (it never returns): wrapping it as the command
    # layer does would load that layer for every run.
    bridge.tk.createcommand("::tclbridge::py::exit", request_exit)
    bridge.eval(_EXIT_PROC)
    bridge.call("set", "argv0", script if script is not None else program)
    bridge.call("set", "argv", tuple(args))
    bridge.call("set", "argc", str(len(args)))
    bridge.call("set", "tcl_interactive", "0")
    if program is not None:
        from tclbridge import tcl_main

        tcl_main.act_as_tclsh(bridge, program)
        if script is None:
            try:
                serve_tk = tcl_main.read_eval_print(bridge)
            finally:
                _flush_tcl(bridge)
            if serve_tk:
                _run_tk_main_loop(bridge)
            return 0
    assert script is not None
    source = ("source", script) if encoding is None else ("source", "-encoding", encoding, script)
    try:
        bridge.call(*source)
    except TclError as exc:  # the bridge's: it carries the errorInfo
        info = _strip_source_frame(exc.errorinfo or str(exc))
        _flush_tcl(bridge)
        _print_error_info(bridge, info)
        hint = _capture_display.hint() if _capture_display is not None else None
        if hint is not None and _display_failed(info):
            sys.stderr.write(hint + "\n")
        if error_report:
            _write_error_report(error_report, str(exc))
        return 1
    finally:
        _flush_tcl(bridge)
    _run_tk_main_loop(bridge)
    return 0


def _run_tk_main_loop(bridge: Interp) -> None:
    """What tclsh and wish do after a script that ended without an error: if
    it loaded Tk, serve events until every Tk main window is destroyed
    (`destroy .`); `exit` ends the process from inside. tkinter's mainloop
    is Tk_MainLoop (it waits in Tcl_DoOneEvent while any main window of this
    process exists) and returns at once when Tk was never loaded."""
    note = _capture_display.note() if _capture_display is not None else None
    if note is not None and bridge.call("info", "commands", "::tk") != "":
        sys.stderr.write(note + "\n")
    try:
        bridge.tk.mainloop(0)
    finally:
        _flush_tcl(bridge)


def _display_failed(info: str) -> bool:
    from tclbridge.display import tk_display_error

    return tk_display_error(1, info) is not None


# The same as _strip_source_frame, in Tcl: errorInfo printed by Tcl as tclsh
# prints it, whatever it holds (a lone surrogate, say, which Python's
# stderr would write as "\\udced" where tclsh writes the bytes).
_PRINT_ERROR_INFO = r"""
set ::tclbridge::info $::errorInfo
foreach ::tclbridge::frame [list "\n    invoked from within\n\"source " \
                                "\n    while executing\n\"source "] {
    set ::tclbridge::at [::tcl::string::last $::tclbridge::frame $::tclbridge::info]
    if {$::tclbridge::at >= 0} {
        set ::tclbridge::info [::tcl::string::range $::tclbridge::info 0 $::tclbridge::at-1]
        break
    }
}
::tcl::chan::puts stderr $::tclbridge::info
::tcl::chan::flush stderr
"""


def _print_error_info(bridge: Interp, info: str) -> None:
    """tclsh's report of an uncaught error: errorInfo without our `source`
    frame (`info`, if Tcl cannot write it: the script closed stderr or
    unset errorInfo)."""
    try:
        bridge.eval(_PRINT_ERROR_INFO)
    except TclError:
        sys.stderr.write(f"{info}\n")


def _strip_source_frame(info: str) -> str:
    """tclsh's errorInfo ends at the script's own frame; ours has one more,
    for the `source` that ran it."""
    for frame in ('\n    invoked from within\n"source ', '\n    while executing\n"source '):
        head, sep, _ = info.rpartition(frame)
        if sep:
            return head
    return info


def _write_error_report(path: str, message: str) -> None:
    try:
        with open(path, "wb") as report:
            report.write(message.encode("utf-8", "surrogatepass"))
    except OSError as exc:
        sys.stderr.write(f"tclbridge: cannot write {ERROR_REPORT_ENV}={path}: "
                         f"{exc.strerror or exc}\n")


def _flush_tcl(bridge: Interp) -> None:
    for chan in ("stdout", "stderr"):
        try:
            bridge.call("flush", chan)
        except TclError:
            pass


_exit_hooks: list[Callable[[], None]] = []
# Held by whoever ends the process (`exit`, the script's end, a signal): the
# hooks run once, and the other waits for the end.
_ending = threading.Lock()
# The signal that ends the run, for the hooks to say so.
_stopped_by: str | None = None
# The X display capture gave the script (None: not capturing).
_capture_display: CaptureDisplay | None = None


def _finish(code: int) -> NoReturn:
    """End the process as tclsh does, after the exit hooks ran."""
    _ending.acquire()
    _run_exit_hooks()
    os._exit(code)


def _run_exit_hooks() -> None:
    while _exit_hooks:
        _exit_hooks.pop()()
    sys.stdout.flush()
    sys.stderr.flush()


def _stop(signum: signal.Signals) -> None:
    """SIGINT or SIGTERM under capture (in a thread of tclbridge.stopping,
    which then ends the process by that signal): the exit hooks first."""
    global _stopped_by
    _ending.acquire()
    _stopped_by = signum.name
    _run_exit_hooks()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    words = sys.argv[1:] if argv is None else list(argv)
    opts: SimpleNamespace | argparse.Namespace | None = plain_run(words)
    parser = None
    if opts is None:
        parser = _build_parser(words[0] if words else None)
        opts = parser.parse_args(words)
    if opts.command != "run":
        _subcommand(opts)
    late = [word for word in opts.args if word.split("=", 1)[0] in _RUN_OPTIONS]
    if late:
        sys.stderr.write(f"tclbridge: warning: {' '.join(late)} after the script name "
                         "goes to the script; put bridge options before it\n")
    run_command(opts, parser)


def _subcommand(opts: SimpleNamespace | argparse.Namespace) -> NoReturn:
    import importlib

    module = importlib.import_module(_SUBCOMMANDS[opts.command])
    try:
        code = module.main(opts)
        sys.stdout.flush()
    except KeyboardInterrupt:
        _finish(130)
    except BrokenPipeError:
        # The reader went away (`tclbridge scan DIR | head`): end as a
        # tool killed by SIGPIPE does, without a word.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _finish(141)
    except Exception as exc:  # noqa: BLE001 - report, never a traceback
        _internal_error(exc)
    _finish(code)


def run_command(opts: SimpleNamespace | argparse.Namespace,
                parser: argparse.ArgumentParser | None = None, program: str | None = None,
                ) -> NoReturn:
    """`tclbridge run` once its words are read (`parser`: the one that read
    them, for usage errors; None for a plain run). `program` is set by
    tclbridge-tclsh: its own path, which it gives the script as tclsh gives
    its own."""
    try:
        # The config files, for what neither the command line nor the
        # environment says.
        settings_file.apply(os.environ)
    except ConfigError as exc:
        sys.stderr.write(f"tclbridge: {exc}\n")
        _finish(2)
    if parser is not None:
        if opts.capture_max_size is not None and not opts.capture and not os.environ.get(
                CAPTURE_ENV):
            parser.error("--capture-max-size needs --capture (or TCLBRIDGE_CAPTURE)")
        if (opts.implicit_tls_server is not None and opts.server is None
                and not os.environ.get(SERVER_ENV)):
            parser.error("--implicit-tls-server needs --server (or TCLBRIDGE_SERVER)")
        if opts.log == "":
            parser.error("--log needs a file name, not an empty string")
    # Python's handler would only run between Tcl calls, never during
    # `vwait`: let Ctrl-C end the process at once, as it ends tclsh (under
    # capture, tclbridge.stopping prints the summary first). An ignored
    # SIGINT (`nohup`, `trap '' INT`) stays ignored, as for tclsh.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        site = _site_policy(opts.policy)
        if opts.policy:
            # A child `tclbridge run` the script starts obeys the same rules.
            os.environ[POLICY_ENV] = os.path.abspath(opts.policy)
        log = delivery_log(opts.log, opts.syslog, opts.script)
        # A child `tclbridge run` the script starts logs to the same places.
        if opts.log:
            os.environ[LOG_ENV] = os.path.abspath(opts.log)
        if opts.syslog:
            os.environ[SYSLOG_ENV] = "1"
        server = opts.server if opts.server is not None else _env_server()
        config = BridgeConfig.from_env(server_override=server,
                                       implicit_tls_override=opts.implicit_tls_server, policy=site,
                                       delivery_log=log)
        check_cafiles(config.cafiles, "TCLBRIDGE_CAFILE")
        check_cafiles(opts.cafile)
        config.cafiles += opts.cafile
        if opts.tls_no_verify:
            config.tls_verify = False
        _capture(opts.capture, config, site, opts.capture_max_size, opts.allow_display)
    except Exception as exc:
        if not _is_setup_error(exc):
            raise
        sys.stderr.write(f"tclbridge: {exc}\n")
        _finish(2)
    use_for_process(config)
    # Taken out of the environment: the script's children must not write it.
    error_report = os.environ.pop(ERROR_REPORT_ENV, None)
    try:
        code = run_script(opts.script, opts.args, config, error_report,
                          encoding=opts.encoding, program=program)
    except Exception as exc:  # noqa: BLE001 - report, never a traceback
        _internal_error(exc)
    _finish(code)


def _env_server() -> tuple[str, int] | None:
    """$TCLBRIDGE_SERVER, as --server reads it (unset or empty: none)."""
    text = os.environ.get(SERVER_ENV, "")
    if not text:
        return None
    try:
        host, port = parse_host_port(text)
    except ValueError as exc:
        raise ConfigError(f"{describe(SERVER_ENV, text)}: {exc}") from None
    if not host:
        raise ConfigError(f"{describe(SERVER_ENV, text)}: expected HOST[:PORT]")
    return host, port


def _site_policy(path: str | None) -> SitePolicy | None:
    """--policy FILE, else $TCLBRIDGE_POLICY's, else none (and the policy
    module is not even imported)."""
    if not path and not os.environ.get(POLICY_ENV):
        return None
    from tclbridge import site_policy

    return site_policy.load(path) if path else site_policy.from_env()


def _is_setup_error(exc: Exception) -> bool:
    """A policy, setting or sandbox that cannot work: said in one line, exit 2.
    (Their modules are imported only by runs that use them, so only then
    can such an error occur.)"""
    if isinstance(exc, ConfigError):
        return True
    policy = sys.modules.get("tclbridge.site_policy")
    sandbox = sys.modules.get("tclbridge.sandbox")
    return ((policy is not None and isinstance(exc, policy.PolicyError))
            or (sandbox is not None and isinstance(exc, sandbox.SandboxError)))


# `run`'s options as argparse sets them when none is given.
RUN_DEFAULTS = {"capture": None, "capture_max_size": None, "server": None,
                 "implicit_tls_server": None, "tls_no_verify": False, "allow_display": False,
                 "policy": None, "log": None, "syslog": False, "encoding": None}


def plain_run(words: Sequence[str]) -> SimpleNamespace | None:
    """`run SCRIPT [ARGS...]` without bridge options, as cron jobs call it,
    read as argparse reads it but without argparse (whose import and parser
    cost more than the rest of the run's Python); None for anything else,
    which the full parser reads."""
    if len(words) < 2 or words[0] != "run" or words[1].startswith("-") or "--" in words:
        return None  # ("--": argparse's reading of it changed between Python versions)
    return SimpleNamespace(command="run", script=words[1], args=list(words[2:]), cafile=[],
                           **RUN_DEFAULTS)


_RUN_OPTIONS = ("--capture", "--capture-max-size", "--server", "--implicit-tls-server",
                "--cafile", "--tls-no-verify", "--policy", "--allow-display", "--log",
                "--syslog")


def _capture(
    option: str | None, config: BridgeConfig, site: SitePolicy | None, max_size: int | None,
    allow_display: bool = False,
) -> None:
    """Capture mode, from --capture DIR or $TCLBRIDGE_CAPTURE: the script runs in
    a private network namespace with the capture server, mail from child
    `tclbridge run`s and sendmail goes there too. A child of a capturing run
    sends to its parent's server while that is reachable."""
    wanted = option if option is not None else os.environ.get(CAPTURE_ENV) or None
    inherited = os.environ.get(CAPTURE_SERVER_ENV)
    if wanted is None and not inherited:
        return  # a plain run: neither the sandbox nor the journal is imported
    from tclbridge import journal, sandbox

    if inherited and option is None:
        endpoint = sandbox.inherited_endpoint(os.environ)
        # Only the server of a capturing parent, in this very namespace:
        # else any loopback server (a local MTA, a tunnel) could pose as it.
        if sandbox.is_ours(os.environ) and (wanted is None or sandbox.reachable(endpoint.server)):
            _send_to_capture(config, endpoint)
            # What this process's sends asked for goes to the parent's summary.
            parent_journal = os.environ.get(journal.JOURNAL_ENV)
            if parent_journal:
                config.journal = journal.JournalClient(parent_journal)
            return
    if wanted is None:
        return
    directory = capture_directory(
        wanted, where=None if option is not None else describe(CAPTURE_ENV, wanted))
    isolation = sandbox.isolate()
    warning = isolation.warning()
    if warning:
        sys.stderr.write(warning + "\n")
    from tclbridge.capture import Capture
    from tclbridge.display import CaptureDisplay, DisplayError

    global _capture_display
    _capture_display = display = CaptureDisplay(
        os.environ, network=isolation.network, mounts=isolation.mounts, allow=allow_display)
    shim = sandbox.SendmailShim(isolation)
    sandbox.seal(isolation, shim.directory, hide=display.hide)
    warning = display.warning()
    if warning:
        sys.stderr.write(warning + "\n")
    try:
        os.environ.update(display.start())
    except DisplayError as exc:
        raise ConfigError(f"cannot start a private X display for the script: {exc}") from None
    config.journal = records = journal.ConnectionJournal()
    capture = Capture(directory, journal=records, max_size=max_size)
    try:
        capture.start()
    except OSError as exc:
        raise ConfigError(f"cannot start the capture server: {exc.strerror or exc}") from None
    capture_endpoint = capture.endpoint
    assert capture_endpoint is not None  # set by start()
    _send_to_capture(config, capture_endpoint)
    try:  # child `tclbridge run`s write their records here
        from tclbridge.journal_service import JournalService

        service: JournalService | None = JournalService(
            records, str(shim.directory / "journal.sock"))
    except OSError:  # e.g. a TMPDIR too long for a socket name: the summary lacks them
        service = None
    os.environ.update(sandbox.child_env(capture_endpoint, shim,
                                        journal=service.path if service else None))
    os.environ[CAPTURE_ENV] = str(directory)

    def report() -> None:
        capture.stop()
        if _stopped_by is None:
            # After a signal the main thread may still be in Tk's event loop,
            # which a vanished display ends with exit 1 before the signal is
            # raised again: the process's end takes Xvfb with it instead.
            display.stop()
        if service is not None:
            service.close()
        shim.cleanup()
        for line in capture.summary_lines():
            sys.stderr.write(line + "\n")
        sys.stderr.write(capture.closing_line(_stopped_by) + "\n")

    _exit_hooks.append(report)
    from tclbridge.stopping import on_stop_signals

    on_stop_signals(_stop)


def _send_to_capture(config: BridgeConfig, endpoint: CaptureEndpoint) -> None:
    """Every connection to the capture server, -tlsimport ones to its
    implicit-TLS listener, its certificate verified with its CA (added to
    any the user trusts)."""
    config.server_override = endpoint.server
    config.implicit_tls_override = endpoint.implicit_tls
    if endpoint.cafile is not None and endpoint.cafile not in config.cafiles:
        from tclbridge.sandbox import CAPTURE_CAFILE_ENV

        check_cafiles([endpoint.cafile], CAPTURE_CAFILE_ENV)
        config.cafiles.append(endpoint.cafile)


def _internal_error(exc: Exception) -> NoReturn:
    sys.stderr.write(f"tclbridge: internal error: {type(exc).__name__}: {exc}\n")
    _finish(70)


def entry() -> None:
    main()


if __name__ == "__main__":
    entry()
