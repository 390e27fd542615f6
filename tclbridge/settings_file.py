"""The config file: environment-wide settings for every `tclbridge run` and
`tclbridge-tclsh` of a user or a machine.

Each key of the file stands for an environment variable (SETTINGS) and is
used only where that variable is not set: the command line wins over the
environment, the environment over the user's file
($XDG_CONFIG_HOME/tclbridge/config.toml, default ~/.config/...), and the
user's file over the machine's (/etc/tclbridge/config.toml), key by key.
TCLBRIDGE_CONFIG=FILE reads FILE instead of both (empty: no file at all).
The values are put into the environment, so the script's children (a child
`tclbridge run`, a capture's sendmail) see the same settings.

A run where no file exists pays two stat calls: the TOML reader is imported
only when there is a file to read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, MutableMapping

from tclbridge.config import ConfigError
from tclbridge.environment import (
    CAPTURE_ENV,
    CONFIG_ENV,
    LOG_ENV,
    POLICY_ENV,
    SERVER_ENV,
    SYSLOG_ENV,
    set_from_file,
)
from tclbridge.host_port import parse_host_port

# The machine's file (a constant, so that tests can point it elsewhere).
SYSTEM_FILE = "/etc/tclbridge/config.toml"


class SettingsFileError(ConfigError):
    """A config file that cannot be used: unreadable, not TOML, an unknown
    key or a value of the wrong type."""


def _path(value: object, directory: str) -> str:
    """A file or directory name; a relative one is relative to the config
    file's directory (`~` is the user's home)."""
    if not isinstance(value, str) or not value:
        raise ValueError("expected a path (a non-empty string)")
    return os.path.join(directory, os.path.expanduser(value))


def _host_port(value: object, directory: str) -> str:
    if not isinstance(value, str) or not parse_host_port(value)[0]:
        raise ValueError("expected a string, HOST[:PORT]")  # (a bad port: its own ValueError)
    return value


def _flag(value: object, directory: str) -> str:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return "1" if value else "0"


# How a value of each kind is checked and written as the variable's text.
KINDS: dict[str, Callable[[object, str], str]] = {
    "path": _path, "host_port": _host_port, "flag": _flag,
}

# Each key of the file: the environment variable it stands for, and its kind.
SETTINGS: dict[str, tuple[str, str]] = {
    "capture": (CAPTURE_ENV, "path"),
    "server": (SERVER_ENV, "host_port"),
    "policy": (POLICY_ENV, "path"),
    "log": (LOG_ENV, "path"),
    "syslog": (SYSLOG_ENV, "flag"),
}


def user_file(environ: MutableMapping[str, str]) -> str:
    """$XDG_CONFIG_HOME/tclbridge/config.toml; ~/.config/... when that is
    unset, empty or relative (the XDG base directory rules)."""
    base = environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):
        home = environ.get("HOME") or os.path.expanduser("~")
        base = os.path.join(home, ".config")
    return os.path.join(base, "tclbridge", "config.toml")


def files_to_read(environ: MutableMapping[str, str]) -> list[tuple[str, bool]]:
    """The files, lowest precedence first, each with whether it must exist
    (a file TCLBRIDGE_CONFIG names must; the usual places need not)."""
    if CONFIG_ENV in environ:
        named = environ[CONFIG_ENV]
        return [(named, True)] if named else []
    return [(SYSTEM_FILE, False), (user_file(environ), False)]


def read(path: str) -> dict[str, str]:
    """The settings in one file, as variable -> text."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise SettingsFileError(f"config file {path}: cannot read it: "
                                f"{exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(f"config file {path}: not valid TOML: {exc}") from None
    directory = os.path.dirname(os.path.abspath(path))
    found: dict[str, str] = {}
    for key, value in data.items():
        if key not in SETTINGS:
            known = ", ".join(sorted(SETTINGS))
            raise SettingsFileError(f"config file {path}: unknown key {key!r} (known: {known})")
        variable, kind = SETTINGS[key]
        try:
            text = KINDS[kind](value, directory)
            if "\0" in text:  # no environment variable can hold it
                raise ValueError("contains a NUL character")
            found[variable] = text
        except ValueError as exc:
            raise SettingsFileError(f"config file {path}: {key} = {value!r}: {exc}") from None
    return found


def apply(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set each variable the config files give that `environ` does not have
    yet (set, even empty, it wins); a SettingsFileError says why a file
    cannot be used."""
    merged: dict[str, tuple[str, str]] = {}
    for path, required in files_to_read(environ):
        if required or os.path.exists(path):  # one stat when there is none
            merged.update((variable, (text, path)) for variable, text in read(path).items())
    for variable, (text, path) in merged.items():
        if variable not in environ:
            environ[variable] = text
            key = next(k for k, (name, _) in SETTINGS.items() if name == variable)
            set_from_file[variable] = (key, path)
