"""Settings that change where and how the bridge sends, from the CLI and the
environment.

`BridgeConfig(...)` holds what it is given and reads nothing;
`BridgeConfig.from_env(...)` adds what the environment says (and loads the
site policy file TCLBRIDGE_POLICY names): `tclbridge run`, and `Interp()`
or `sendmessage()` without a config, use that.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tclbridge.environment import LOG_ENV, POLICY_ENV, SYSLOG_ENV, describe

# typing is for type checkers only: importing it costs every `tclbridge run`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from tclbridge.delivery import DeliveryObserver
    from tclbridge.journal import JournalWriter
    from tclbridge.site_policy import SitePolicy


# `tclbridge check` asks each run for the message of the uncaught error it
# ended with (what errorInfo starts with): the file named here gets it.
ERROR_REPORT_ENV = "TCLBRIDGE_ERROR_REPORT"


class ConfigError(ValueError):
    """A setting from the environment or the command line that cannot work."""


def _timeout_scale() -> float:
    text = os.environ.get("TCLBRIDGE_TIMEOUT_SCALE", "1")
    try:
        scale = float(text)
    except ValueError:
        scale = float("nan")
    if not (0 < scale < float("inf")):
        raise ConfigError(f"TCLBRIDGE_TIMEOUT_SCALE must be a number greater than 0, not {text!r}")
    return scale


def _env_cafiles() -> list[str]:
    value = os.environ.get("TCLBRIDGE_CAFILE", "")
    return [value] if value else []


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("1", "yes", "true", "on"):
        return True
    if value in ("0", "no", "false", "off"):
        return False
    return default


class BridgeConfig:
    """The settings of a run, as a plain value. (A plain class, not a
    dataclass: `dataclasses` imports `inspect`, a cost every `tclbridge run`
    would pay at start-up.)"""

    # The settings, in order (the constructor's parameters, repr and ==).
    FIELDS = ("server_override", "implicit_tls_override", "timeout_scale", "cafiles",
              "tls_verify", "allow_plaintext_auth", "policy", "journal", "delivery_log")

    def __init__(
        self,
        # Send every connection here instead of the script's -servers/-ports.
        server_override: tuple[str, int] | None = None,
        # With server_override: where a -tlsimport 1 connection (TLS from its
        # first byte) goes instead, when the server listens for those apart (a
        # capture server does); None sends it to server_override too.
        implicit_tls_override: tuple[str, int] | None = None,
        # Multiplies tcllib's per-command timeouts (tests scale them down).
        timeout_scale: float = 1.0,
        # Extra CA certificates trusted for TLS, besides the system store.
        cafiles: list[str] | None = None,
        # False restores tcllib's behaviour: TLS without certificate checks.
        tls_verify: bool = True,
        # Allow AUTH over an unencrypted connection to a non-loopback server.
        allow_plaintext_auth: bool = False,
        # The site policy (TCLBRIDGE_POLICY or `run --policy FILE`); see site_policy.py.
        policy: SitePolicy | None = None,
        # Capture mode: where each connection is described to the capture (set by
        # `tclbridge run`; see journal.py).
        journal: JournalWriter | None = None,
        # Told how each transaction ended: the delivery log (--log FILE,
        # --syslog; see delivery_log.py).
        delivery_log: DeliveryObserver | None = None,
    ) -> None:
        self.server_override = server_override
        self.implicit_tls_override = implicit_tls_override
        self.timeout_scale = timeout_scale
        self.cafiles: list[str] = [] if cafiles is None else cafiles
        self.tls_verify = tls_verify
        self.allow_plaintext_auth = allow_plaintext_auth
        self.policy = policy
        self.journal = journal
        self.delivery_log = delivery_log

    def settings(self) -> dict[str, Any]:
        """Each setting by name."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.settings().items())
        return f"BridgeConfig({shown})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BridgeConfig):
            return NotImplemented
        return self.settings() == other.settings()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    @classmethod
    def from_env(cls, **settings: Any) -> BridgeConfig:
        """The settings given, and for each setting not given what the
        environment says: TCLBRIDGE_TIMEOUT_SCALE, TCLBRIDGE_CAFILE,
        TCLBRIDGE_TLS_VERIFY, TCLBRIDGE_ALLOW_PLAINTEXT_AUTH, the site
        policy file TCLBRIDGE_POLICY names (read and checked here: a
        site_policy.PolicyError says why it cannot be used; a bad variable
        is a ConfigError) and the delivery log of TCLBRIDGE_LOG and
        TCLBRIDGE_SYSLOG (a log that cannot be opened is a ConfigError)."""
        found = {name: read() for name, read in _FROM_ENV.items() if name not in settings}
        return cls(**found, **settings)


def _policy_from_env() -> SitePolicy | None:
    # The policy module (and its TOML reader) only for a run that has one.
    if not os.environ.get(POLICY_ENV):
        return None
    from tclbridge import site_policy

    return site_policy.from_env()


def delivery_log(path: str | None = None, syslog: bool = False,
                 script: str | None = None) -> DeliveryObserver | None:
    """The delivery log to the file `path` (else $TCLBRIDGE_LOG) and to
    syslog if `syslog` (else $TCLBRIDGE_SYSLOG) says so; None when neither
    is asked for (and the log's module is not even imported). `script`
    names the sender in each line (default: this program, sys.argv[0]). A
    log that cannot be opened is a ConfigError."""
    labels = {"file": f"--log {path}" if path else describe(LOG_ENV, os.environ.get(LOG_ENV, "")),
              "syslog": "--syslog" if syslog
              else describe(SYSLOG_ENV, os.environ.get(SYSLOG_ENV, ""))}
    path = path or os.environ.get(LOG_ENV) or None
    syslog = syslog or _env_flag(SYSLOG_ENV, False)
    if path is None and not syslog:
        return None
    from tclbridge import delivery_log as log

    try:
        return log.DeliveryLog.open(path, syslog=syslog, script=script)
    except log.LogUnavailable as exc:
        hint = (f" (is a syslog daemon running? {log.SYSLOG_SOCKET_ENV}=PATH names another"
                " socket)" if exc.where == "syslog" else "")
        raise ConfigError(f"{labels[exc.where]}: {exc.reason}{hint}") from None


# What from_env reads for each setting, in this order.
_FROM_ENV: dict[str, Callable[[], Any]] = {
    "timeout_scale": _timeout_scale,
    "cafiles": _env_cafiles,
    "tls_verify": lambda: _env_flag("TCLBRIDGE_TLS_VERIFY", True),
    "allow_plaintext_auth": lambda: _env_flag("TCLBRIDGE_ALLOW_PLAINTEXT_AUTH", False),
    "policy": _policy_from_env,
    "delivery_log": delivery_log,
}



# The settings `tclbridge run` was given (--server, --capture, --policy, ...):
# Python code the script calls (tclbridge::call -> tclbridge.smtp.sendmessage,
# load_tcl) must send under the same rules, not around them.
_process_config: BridgeConfig | None = None


def use_for_process(config: BridgeConfig) -> None:
    global _process_config
    _process_config = config


def process_config() -> BridgeConfig:
    """The settings of this process's `tclbridge run`, else from the environment."""
    return _process_config if _process_config is not None else BridgeConfig.from_env()


def capture_directory(text: str, from_env: bool = False, where: str | None = None) -> Path:
    """The capture directory (--capture, or $TCLBRIDGE_CAPTURE with `from_env`),
    created if needed; a ConfigError says why it cannot be (naming the
    setting as `where` says, if given)."""
    if not text:
        raise ConfigError("--capture needs a directory name, not an empty string")
    from pathlib import Path

    if where is None:
        where = f"TCLBRIDGE_CAPTURE={text}" if from_env else f"--capture {text}"
    path = Path(text)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{where}: not a directory") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot create the directory: "
                          f"{exc.strerror or exc}") from None
    # A real file, not os.access: root passes that for read-only mounts too.
    try:
        probe = path / f".tclbridge-probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{where}: the directory is not writable: "
                          f"{exc.strerror or exc}") from None
    return path.resolve()


def check_cafiles(paths: list[str], source: str = "--cafile") -> None:
    """Each CA file must load now, not at the first TLS connection."""
    if not paths:
        return
    import ssl  # only here: `run` without --cafile starts without it

    for path in paths:
        try:
            with open(path, "rb"):
                pass
            ssl.create_default_context().load_verify_locations(cafile=path)
        except ssl.SSLError as exc:  # an OSError too: first
            raise ConfigError(f"{source} {path}: not a PEM certificate: "
                              f"{exc.reason or exc}") from None
        except OSError as exc:
            raise ConfigError(f"{source} {path}: cannot read it: {exc.strerror or exc}") from None
