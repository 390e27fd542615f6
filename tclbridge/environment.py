"""Names of environment variables that `tclbridge run` looks at before it
knows whether it needs their modules (a bare run imports neither the site
policy nor the sandbox), and where a variable's value came from."""

from __future__ import annotations

POLICY_ENV = "TCLBRIDGE_POLICY"  # FILE: the site policy (tclbridge.site_policy)
CAPTURE_ENV = "TCLBRIDGE_CAPTURE"  # DIR: `tclbridge run` captures there, as --capture DIR
CAPTURE_SERVER_ENV = "TCLBRIDGE_CAPTURE_SERVER"  # HOST:PORT of the running capture server
SERVER_ENV = "TCLBRIDGE_SERVER"  # HOST[:PORT]: `tclbridge run` sends all mail there, as --server
CONFIG_ENV = "TCLBRIDGE_CONFIG"  # FILE: the config file to read instead of the usual ones
LOG_ENV = "TCLBRIDGE_LOG"  # FILE: the delivery log, as --log FILE (tclbridge.delivery_log)
SYSLOG_ENV = "TCLBRIDGE_SYSLOG"  # 1: the delivery log to syslog too, as --syslog

# Each variable the config file set (tclbridge.settings_file), with its key and
# the file: a message about a bad value names them, not a variable the user
# never set.
set_from_file: dict[str, tuple[str, str]] = {}


def describe(variable: str, text: str) -> str:
    """Where a setting came from, for a message: `VARIABLE=text`, or the key
    and the config file it was read from."""
    if variable not in set_from_file:
        return f"{variable}={text}"
    key, path = set_from_file[variable]
    return f"{key} = {text!r} (config file {path})"
