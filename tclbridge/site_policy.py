"""The site policy (`tclbridge run --policy FILE` or TCLBRIDGE_POLICY=FILE):
rules that unmodified scripts obey, and the decisions taken under them.

`load` reads and strictly validates the TOML file (the only I/O here);
`Enforcer` takes the decisions for one sendmessage call and records each
(-debug line and, under capture, a `journal` entry; never a password). The session code
calls the enforcer at a few points; docs/POLICY.md describes the format.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tclbridge.domains import DomainError, matching_form, normalize, shown
from tclbridge.environment import POLICY_ENV
from tclbridge.host_port import parse_host_port

if TYPE_CHECKING:
    from tclbridge.journal import ConnectionRecord, JournalWriter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


HIDDEN = "<hidden>"
# What a recipient refused by the policy looks like in sendmessage's result.
REFUSAL_CODE = "550"


class PolicyError(Exception):
    """The policy file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(default="", repr=False)
    oauth_token_command: str | None = field(default=None, repr=False)


@dataclass
class SitePolicy:
    source: str = ""
    relay: tuple[str, int] | None = None
    # None: no allow-list. Domains match themselves and their subdomains;
    # both lists hold normalised names (domains.matching_form).
    allow_domains: tuple[str, ...] | None = None
    deny_domains: tuple[str, ...] = ()
    require_tls: bool = False
    # Host name (A-labels, lower case) -> default credentials for it.
    credentials: dict[str, Credentials] = field(default_factory=dict, repr=False)
    originator: str | None = None

    @property
    def has_domain_lists(self) -> bool:
        return self.allow_domains is not None or bool(self.deny_domains)

    def recipient_refusal(self, address: str) -> str | None:
        """Why the policy refuses `address`, or None when it may be sent to."""
        if not self.has_domain_lists:
            return None
        local, at, domain = address.rpartition("@")
        if not at:
            local, domain = address, ""
        # The lists judge only the domain after the last "@"; a relay that
        # honours source routing, the percent hack or a bang path would
        # deliver "a@evil.com@ok.com" or "a%evil.com@ok.com" to evil.com.
        if _routes(local):
            return f"routing in the local part {local} is refused"
        if domain.startswith("["):
            return f"address literal {shown(domain)} cannot be matched against the domain lists"
        # Judged in the form resolvers and relays use (UTS #46, IDNA 2008):
        # "rivals\u3002example" and "rivals.example\u200b" are rivals.example.
        try:
            name = matching_form(domain) if domain else ""
        except DomainError as exc:
            return f"domain {shown(domain)} cannot be normalised (IDNA: {exc})"
        named = name if name == domain.lower() else f"{shown(domain)} (that is {name})"
        if _matches(name, self.deny_domains):
            return f"domain {named} is in deny_domains"
        if self.allow_domains is not None and not _matches(name, self.allow_domains):
            return f"domain {named or '(none)'} is not in allow_domains"
        return None


# Characters that route mail on through another host when found in a local part.
_ROUTING = "@%!"


def _routes(local: str) -> bool:
    if not local.isascii():
        import unicodedata  # only for non-ASCII local parts (start-up time)

        # Full-width forms (U+FF20 and so on) become "@%!" under NFKC, which a
        # relay may apply.
        local += unicodedata.normalize("NFKC", local)
    return any(c in local for c in _ROUTING)


def _matches(domain: str, patterns: Iterable[str]) -> bool:
    return any(domain == p or domain.endswith("." + p) for p in patterns)


def _credentials_key(host: str) -> str:
    """A [credentials] key as compared: its name in A-labels, lower case."""
    return host.lower() if host.isascii() else normalize(host)


def _connect_name(host: str) -> str | None:
    """The name a connection to `host` really resolves: Python's socket module
    encodes a non-ASCII host with its IDNA 2003 codec. None if it cannot."""
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


# -- the decisions -----------------------------------------------------------


class Enforcer:
    """The policy's decisions for one sendmessage call. Without a policy
    every method leaves things as the script asked and decides nothing.
    With a `journal` (capture mode) each connection's record goes there:
    the servers the script asked for, the decisions and the refusals."""

    def __init__(
        self, policy: SitePolicy | None, debug: Callable[[str], None] | None,
        journal: JournalWriter | None = None,
    ) -> None:
        self.policy = policy
        self._debug = debug
        self.entries: list[dict[str, str]] = []
        self._journal = journal
        self._requested: list[str] = []  # the script's servers, as HOST:PORT
        self._refusals: list[dict[str, str]] = []
        self._connection: str | None = None  # the local address of the last connection

    def note(self, rule: str, decision: str) -> None:
        entry = {"rule": rule, "decision": decision}
        self.entries.append(entry)
        if self._debug is not None:
            self._debug(f"policy {rule}: {decision}")
        if self._journal is not None and self._connection is not None:
            self._journal.noted(self._connection, [entry])

    @property
    def require_tls(self) -> bool:
        return self.policy is not None and self.policy.require_tls

    def targets(
        self, script_targets: list[tuple[str, str]], override: tuple[str, int] | None
    ) -> list[tuple[str, str]]:
        """Where to connect: --server/--capture first, then the relay."""
        self._requested = [_host_port(t) for t in script_targets]
        relay = self.policy.relay if self.policy else None
        if override is not None and not script_targets:
            # tcllib connects nowhere (and fails) when the script names no
            # server: --server and --capture stand in for its connections
            # (as check's redirection does for tcllib's), they add none.
            return []
        if override is not None:
            if relay is not None:
                self.note("relay", f"{_host_port(relay)} not used: the command line sends all "
                          f"mail to {_host_port(override)}")
            return [(override[0], str(override[1]))]
        if relay is None:
            return script_targets
        named = " ".join(_host_port(t) for t in script_targets) or "(none)"
        self.note("relay", f"all mail goes to {_host_port(relay)} instead of {named}")
        return [(relay[0], str(relay[1]))]

    def screen(self, recipients: Iterable[str]) -> dict[str, list[str]]:
        """The recipients the policy refuses, each with the result item a
        server refusal would give; no RCPT is ever sent for them."""
        refused: dict[str, list[str]] = {}
        if self.policy is None:
            return refused
        for address in recipients:
            if address in refused:
                continue
            why = self.policy.recipient_refusal(address)
            if why is None:
                if self.policy.has_domain_lists:
                    self.note("recipients", f"allowed <{address}>")
                continue
            self.note("recipients", f"refused <{address}>: {why}")
            self._refusals.append({"recipient": address, "reason": why})
            diagnostic = f"5.7.1 <{address}>: recipient refused by site policy ({why})"
            refused[address] = [address, REFUSAL_CODE, diagnostic]
        return refused

    def sender(self, sender: str) -> str:
        """The envelope sender (MAIL FROM); headers are never changed."""
        rewrite = self.policy.originator if self.policy else None
        if rewrite is None or rewrite == sender:
            return sender
        if sender == "":
            self.note("originator", "null sender <> kept (a bounce must stay one)")
            return sender
        self.note("originator", f"envelope sender <{rewrite}> instead of <{sender}>; "
                  "message headers unchanged")
        return rewrite

    def credentials(self, host: str, username: str, password: str) -> Credentials:
        """The script's -username/-password, or the policy's defaults for
        `host` when the script gives no user name."""
        # Matched against the name the connection went to, so the policy's
        # secret never goes to a host that only looks like the key.
        name = _connect_name(host) if self.policy and self.policy.credentials else None
        default = self.policy.credentials.get(name) if self.policy and name else None
        if default is None:
            return Credentials(username, password)
        if username:
            self.note("credentials", f"the script's -username {username} is used for {host}, "
                      "not the policy's default")
            return Credentials(username, password)
        secret = "oauth_token_command" if default.oauth_token_command else "password"
        self.note("credentials", f"AUTH to {host} as {default.username} with the policy's "
                  f"{secret} {HIDDEN}")
        return default

    def connected(self, local_address: str) -> None:
        self._connection = local_address
        if self._journal is not None:
            self._journal.connected(local_address, self._record())

    def nothing_sent(self, sender: str, script_targets: list[tuple[str, str]]) -> None:
        self._requested = [_host_port(t) for t in script_targets]
        if self.policy is not None:
            self.note("recipients", "every recipient refused: no connection made")
        if self._journal is not None:
            self._journal.unsent(sender, self._record())

    def _record(self) -> ConnectionRecord:
        from tclbridge.journal import ConnectionRecord  # capture mode only (start-up time)

        policy = None if self.policy is None else list(self.entries)
        return ConnectionRecord(list(self._requested), policy, list(self._refusals))


def _host_port(target: tuple[str, int | str]) -> str:
    host, port = target
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# -- the file ----------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> SitePolicy:
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise PolicyError(f"policy {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy {path}: not valid TOML: {exc}") from None
    try:
        return parse(data, str(path))
    except PolicyError as exc:
        raise PolicyError(f"policy {path}: {exc}") from None


def from_env() -> SitePolicy | None:
    path = os.environ.get(POLICY_ENV, "")
    return load(path) if path else None


_SECTIONS = {
    "relay": {"server"},
    "recipients": {"allow_domains", "deny_domains"},
    "tls": {"required"},
    "originator": {"rewrite"},
    "credentials": None,  # keyed by host name
}
_CREDENTIAL_KEYS = {"username", "password", "password_env", "oauth_token_command"}


def parse(data: dict[str, Any], source: str = "") -> SitePolicy:
    """A validated policy from the decoded TOML; PolicyError names the key."""
    _known_keys(data, set(_SECTIONS), "")
    for name, keys in _SECTIONS.items():
        if name in data:
            _table(data[name], name)
            if keys is not None:
                _known_keys(data[name], keys, name + ".")
    policy = SitePolicy(source=source)
    relay = data.get("relay", {})
    if "server" in relay:
        server = _string(relay["server"], "relay.server")
        try:
            policy.relay = parse_host_port(server)
        except ValueError as exc:
            raise PolicyError(f"relay.server: {exc}") from None
    recipients = data.get("recipients", {})
    if "allow_domains" in recipients:
        policy.allow_domains = _domains(recipients["allow_domains"], "recipients.allow_domains")
    if "deny_domains" in recipients:
        policy.deny_domains = _domains(recipients["deny_domains"], "recipients.deny_domains")
    tls = data.get("tls", {})
    if "required" in tls:
        if not isinstance(tls["required"], bool):
            raise PolicyError("tls.required must be true or false")
        policy.require_tls = tls["required"]
    originator = data.get("originator", {})
    if "rewrite" in originator:
        policy.originator = _address(originator["rewrite"], "originator.rewrite")
    for host, entry in data.get("credentials", {}).items():
        where = f"credentials.{_toml_key(host)}"
        if not host or any(c.isspace() or c in "@/:" for c in host):
            raise PolicyError(f"{where}: the key must be a host name")
        try:
            key = _credentials_key(host)
        except DomainError as exc:
            raise PolicyError(f"{where}: the key must be a host name ({exc})") from None
        policy.credentials[key] = _credentials(entry, where)
    return policy


def _credentials(entry: object, where: str) -> Credentials:
    table = _table(entry, where)
    _known_keys(table, _CREDENTIAL_KEYS, where + ".")
    if "username" not in table:
        raise PolicyError(f"{where}.username is missing")
    username = _string(table["username"], where + ".username")
    secrets = [key for key in ("password", "password_env", "oauth_token_command") if key in table]
    if not secrets:
        raise PolicyError(f"{where} needs password, password_env or oauth_token_command")
    if "password" in table and "password_env" in table:
        raise PolicyError(f"{where}: give password or password_env, not both")
    password = ""
    if "password" in table:
        password = _string(table["password"], where + ".password")
    elif "password_env" in table:
        variable = _string(table["password_env"], where + ".password_env")
        password = os.environ.get(variable, "")
        if not password:
            raise PolicyError(f"{where}.password_env: environment variable {variable} "
                              "is not set or empty")
    command = None
    if "oauth_token_command" in table:
        command = _string(table["oauth_token_command"], where + ".oauth_token_command")
    return Credentials(username, password, command)


def _known_keys(table: dict[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        raise PolicyError(f"unknown key {prefix}{_toml_key(unknown[0])} (known: {allowed})")


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where} must be a table, not {_type_name(value)}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise PolicyError(f"{where} must be a string, not {_type_name(value)}")
    if not value.strip():
        raise PolicyError(f"{where} must not be empty")
    if "\r" in value or "\n" in value:
        raise PolicyError(f"{where} must not contain a line break")
    return value


def _domains(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise PolicyError(f"{where} must be an array of domain names, not {_type_name(value)}")
    domains = []
    for item in value:
        domain = _string(item, where + "[]").strip().lower().lstrip(".")
        if "@" in domain or any(c.isspace() for c in domain) or not domain:
            raise PolicyError(f"{where}: {item!r} is not a domain name")
        try:
            domains.append(matching_form(domain))
        except DomainError as exc:
            raise PolicyError(f"{where}: {item!r} is not a domain name ({exc})") from None
    return tuple(domains)


def _address(value: object, where: str) -> str:
    address = _string(value, where)
    if any(c.isspace() or c in "<>" for c in address) or "@" not in address:
        raise PolicyError(f"{where}: {address!r} is not a bare address like user@example.com")
    return address


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _toml_key(key: str) -> str:
    bare = key and all(c.isalnum() or c in "-_" for c in key)
    return key if bare else f'"{key}"'
