"""Names of environment variables that `tclbridge run` looks at before it
knows whether it needs their modules (a bare run imports neither the site
policy nor the sandbox)."""

from __future__ import annotations

POLICY_ENV = "TCLBRIDGE_POLICY"  # FILE: the site policy (tclbridge.site_policy)
CAPTURE_ENV = "TCLBRIDGE_CAPTURE"  # DIR: `tclbridge run` captures there, as --capture DIR
CAPTURE_SERVER_ENV = "TCLBRIDGE_CAPTURE_SERVER"  # HOST:PORT of the running capture server
LOG_ENV = "TCLBRIDGE_LOG"  # FILE: the delivery log, as --log FILE (tclbridge.delivery_log)
SYSLOG_ENV = "TCLBRIDGE_SYSLOG"  # 1: the delivery log to syslog too, as --syslog
