"""Names of environment variables that `tclbridge run` looks at before it
knows whether it needs their modules (a bare run imports neither the site
policy nor the sandbox)."""

from __future__ import annotations

POLICY_ENV = "TCLBRIDGE_POLICY"  # FILE: the site policy (tclbridge.site_policy)
CAPTURE_ENV = "TCLBRIDGE_CAPTURE"  # DIR: `tclbridge run` captures there, as --capture DIR
CAPTURE_SERVER_ENV = "TCLBRIDGE_CAPTURE_SERVER"  # HOST:PORT of the running capture server
SERVER_ENV = "TCLBRIDGE_SERVER"  # HOST[:PORT]: `tclbridge run` sends all mail there, as --server
CONFIG_ENV = "TCLBRIDGE_CONFIG"  # FILE: the config file to read instead of the usual ones
