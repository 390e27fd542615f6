"""A private Postfix MTA on 127.0.0.1 for interop tests (issue 3, point 8).

Postfix accepts mail on a free high port with STARTTLS (a trustme certificate
for "localhost" and 127.0.0.1) and SASL AUTH (Cyrus SASL, sasldb), only after
STARTTLS, and relays what authenticated clients send to a `RecordingServer`,
so a test sees the message that comes out the other side::

    def test_it(postfix_relay: PostfixRelay) -> None:
        seen = len(postfix_relay.messages)
        ...send to postfix_relay.host:postfix_relay.port, trusting
           postfix_relay.ca_file, AUTH as postfix_relay.username/.password...
        [msg] = postfix_relay.wait_for_message(since=seen)
        assert msg.rcpt_tos == ["rcpt@example.com"]

`postfix_relay` (the fixture, in tests/conftest.py) is session-scoped: one
instance for the whole run, so count messages from what was there before
(``since``). Outside pytest,
``with PostfixRelay() as relay:`` does the same; ``python -m tests.support.postfix_harness``
runs one until Ctrl-C and prints how to reach it.

The Debian packages (postfix, sasl2-bin, libsasl2-modules) are installed with
apt-get when missing. The fixture skips, saying why, only when that is not
possible (not root, no apt-get, apt-get failed); with TCLBRIDGE_REQUIRE_POSTFIX=1
it fails instead. The instance has its own config, queue and data directories
in a temporary directory and never touches /etc/postfix's configuration or port 25.
It does not rely on systemd or init scripts: ``postfix -c DIR start/stop``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trustme

from tclbridge.recorder import Message, RecordingServer, ServerScript

PACKAGES = ("postfix", "sasl2-bin", "libsasl2-modules")
POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
SASLPASSWD2 = "/usr/sbin/saslpasswd2"
SASL_PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu/sasl2", "/usr/lib/aarch64-linux-gnu/sasl2",
                    "/usr/lib/sasl2")
# Strongest first, as a client would try them. Only those whose plugin is present
# are configured (SCRAM came late to some distributions' libsasl2-modules).
WANTED_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN")
_MECH_PLUGIN = {"SCRAM-SHA-256": "libscram", "SCRAM-SHA-1": "libscram",
                "DIGEST-MD5": "libdigestmd5", "CRAM-MD5": "libcrammd5",
                "LOGIN": "liblogin", "PLAIN": "libplain"}

STARTUP_TIMEOUT = 30.0  # the whole of start(): config, `postfix start`, port open
MESSAGE_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
INSTALL_TIMEOUT = 600.0  # apt-get may wait for another dpkg run (lock) and download
REQUIRE_ENV = "TCLBRIDGE_REQUIRE_POSTFIX"

SASL_DOMAIN = "tclbridge.test"
USERNAME = "tester"
PASSWORD = "s3cret-Pa55 word"  # a space and punctuation: clients must not mangle them
MYHOSTNAME = "mta.tclbridge.test"  # must differ from the recorder's "localhost" (loop check)


class PostfixUnavailable(Exception):
    """Postfix cannot be installed here; the message says why (becomes a skip)."""


# -- packages ------------------------------------------------------------------------------


def _installed(package: str) -> bool:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package],
        capture_output=True, text=True, check=False)
    return result.returncode == 0 and result.stdout.strip().endswith(" installed")


def missing_packages() -> list[str]:
    if shutil.which("dpkg-query") is None:
        return list(PACKAGES)
    missing = [p for p in PACKAGES if not _installed(p)]
    # A half-removed package can be "installed" without its binaries: check those too.
    if not os.access(POSTFIX, os.X_OK) and "postfix" not in missing:
        missing.append("postfix")
    if not os.access(SASLPASSWD2, os.X_OK) and "sasl2-bin" not in missing:
        missing.append("sasl2-bin")
    return missing


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_packages() -> None:
    """Install the Debian packages if missing; raise PostfixUnavailable if impossible."""
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0:
        raise PostfixUnavailable(f"{' '.join(missing)} not installed and not running as root")
    if shutil.which("apt-get") is None or shutil.which("debconf-set-selections") is None:
        raise PostfixUnavailable(f"{' '.join(missing)} not installed and no apt-get/debconf")
    # "No configuration": the package then writes no /etc/postfix/main.cf, asks nothing,
    # and the system's Postfix stays unconfigured and off port 25; ours is private.
    subprocess.run(
        ["debconf-set-selections"], check=False, capture_output=True, timeout=60,
        input="postfix postfix/main_mailer_type select No configuration\n"
              "postfix postfix/mailname string localhost\n",
        text=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
               "-o", "DPkg::Lock::Timeout=300",  # another dpkg run (a parallel setup) may hold it
               "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
               *missing]
    try:
        result = subprocess.run(install, env=env, capture_output=True, text=True,
                                timeout=INSTALL_TIMEOUT, check=False)
        if result.returncode != 0:
            # A fresh machine often has no package lists yet: update once and retry.
            subprocess.run(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=300"],
                           env=env, capture_output=True, text=True,
                           timeout=INSTALL_TIMEOUT, check=False)
            result = subprocess.run(install, env=env, capture_output=True, text=True,
                                    timeout=INSTALL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as error:
        raise PostfixUnavailable(f"apt-get timed out: {error}") from error
    if result.returncode != 0 or missing_packages():
        raise PostfixUnavailable(
            f"apt-get install {' '.join(missing)} failed (exit {result.returncode}):\n"
            + _tail(result.stdout + result.stderr))


def sasl_mechanisms() -> list[str]:
    """The wanted mechanisms whose Cyrus SASL plugin is installed, strongest first."""
    present = set()
    for directory in SASL_PLUGIN_DIRS:
        if os.path.isdir(directory):
            present.update(name.split(".so")[0] for name in os.listdir(directory))
    return [mech for mech in WANTED_MECHANISMS if _MECH_PLUGIN[mech] in present]


# -- the instance -------------------------------------------------------------------------------


def free_port() -> int:
    # Postfix binds the port itself, so there is a small window in which someone
    # else can take it; start() retries with another port if the bind fails.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Every service unchrooted (5th column "n"): the chroot would need copies of
# /etc/services, resolver files, the SASL plugins and the sasldb inside the queue
# directory. Only what an SMTP-in/SMTP-out relay needs; postlog makes maillog_file
# work without a syslog daemon (containers have none).
MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{listen} inet n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
config_directory = {conf}
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
# No syslog in containers: log to a file (needs the postlog service in master.cf).
maillog_file = {log}
maillog_file_prefixes = {root}
myhostname = {myhostname}
mydomain = {domain}
myorigin = $myhostname
smtpd_banner = $myhostname ESMTP tclbridge test relay
biff = no

# Loopback only, and nothing is delivered here: every recipient is relayed.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
relayhost = [127.0.0.1]:{relay_port}

# Hand over at once and retry quickly (the recorder may still be starting);
# never ask DNS (the sandbox has no network, so a lookup would only time out).
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_tls_security_level = none
smtp_sasl_auth_enable = no
smtpd_peername_lookup = no
# RFC 6531 both ways (the default depends on compatibility_level): clients
# may send non-ASCII addresses, and the recorder takes them on.
smtputf8_enable = yes

# The client side under test: STARTTLS, then AUTH; relaying only when authenticated.
smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {sasl_dir}
smtpd_sasl_local_domain = {domain}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions =
"""

SMTPD_CONF = """\
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: {sasldb}
mech_list: {mechs}
"""


class PostfixRelay:
    """A private Postfix relaying to a RecordingServer; see the module docstring.

    Attributes for clients: ``host``, ``port``, ``ca_file`` (PEM of the CA that
    signed the server certificate), ``username``, ``password``, ``domain`` (the SASL
    realm), ``mechanisms`` (what AUTH offers after STARTTLS), ``recorder`` and
    ``messages`` (what Postfix relayed, as `tclbridge.recorder.Message`).
    """

    host = "127.0.0.1"

    def __init__(self, username: str = USERNAME, password: str = PASSWORD,
                 domain: str = SASL_DOMAIN) -> None:
        self.username = username
        self.password = password
        self.domain = domain
        self.port = 0
        self.mechanisms: list[str] = []
        self.recorder = RecordingServer(ServerScript(capabilities=["SMTPUTF8"]))
        self._root: Path | None = None
        self._started = False

    # Paths, valid once start() has made the directory.
    @property
    def root(self) -> Path:
        if self._root is None:
            raise RuntimeError("PostfixRelay not started")
        return self._root

    @property
    def config_dir(self) -> Path:
        return self.root / "conf"

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.pem"

    @property
    def log_file(self) -> Path:
        return self.root / "maillog"

    @property
    def messages(self) -> list[Message]:
        return self.recorder.messages

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> PostfixRelay:
        """Install if needed, configure, start; raise PostfixUnavailable to skip."""
        ensure_packages()
        if os.geteuid() != 0:  # the master binds, chowns and drops privileges itself
            raise PostfixUnavailable("running a private Postfix instance needs root")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        self.mechanisms = sasl_mechanisms()
        if "PLAIN" not in self.mechanisms:
            raise PostfixUnavailable("the Cyrus SASL PLAIN plugin (libsasl2-modules) is missing")
        self.recorder.start()
        atexit.register(self.stop)  # also when the run is interrupted before teardown
        try:
            self._make_root()
            self._write_tls()
            self._write_sasl()
            last_error = ""
            for _attempt in range(3):  # a new port if someone took ours in between
                self.port = free_port()
                self._write_config()
                last_error = self._postfix_start(deadline)
                if not last_error or "Address already in use" not in last_error:
                    break
            if last_error:
                raise RuntimeError(f"Postfix did not start:\n{last_error}")
            self._wait_listening(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _make_root(self) -> None:
        # Not under pytest's tmp_path: that lives in a 0700 directory the unprivileged
        # postfix processes cannot traverse. Made by root, not writable by others:
        # Postfix checks that its configuration directory is trustworthy.
        self._root = Path(tempfile.mkdtemp(prefix="tclbridge-postfix-"))
        self._root.chmod(0o755)
        # The queue directory must exist (root-owned); its subdirectories and the data
        # directory are left to `postfix start` (post-install create-missing), which
        # gives them the owners and modes Postfix insists on.
        for sub in ("conf", "conf/sasl", "queue"):
            (self._root / sub).mkdir(mode=0o755)

    def _write_tls(self) -> None:
        ca = trustme.CA(organization_name="tclbridge test CA")
        leaf = ca.issue_cert("localhost", "127.0.0.1")
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert = self.root / "server-cert.pem"
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key = self.root / "server-key.pem"
        key.touch(mode=0o600)
        leaf.private_key_pem.write_to_path(str(key))  # smtpd reads it as root, at startup

    @property
    def sasl_dir(self) -> Path:
        # Debian's Postfix ignores cyrus_sasl_config_path and reads
        # $config_directory/sasl/smtpd.conf (its patch 07_sasl_config); upstream
        # builds read cyrus_sasl_config_path, which points here too.
        return self.config_dir / "sasl"

    def _write_sasl(self) -> None:
        sasldb = self.sasl_dir / "sasldb2"
        result = subprocess.run(
            [SASLPASSWD2, "-f", str(sasldb), "-c", "-p", "-u", self.domain, self.username],
            input=self.password, capture_output=True, text=True, timeout=20, check=False)
        if result.returncode != 0 or not sasldb.exists():
            raise RuntimeError(f"saslpasswd2 failed: {result.stderr.strip()}")
        # smtpd checks passwords as the unprivileged postfix user.
        shutil.chown(sasldb, user="root", group="postfix")
        sasldb.chmod(0o640)
        (self.sasl_dir / "smtpd.conf").write_text(
            SMTPD_CONF.format(sasldb=sasldb, mechs=" ".join(self.mechanisms)))

    def _write_config(self) -> None:
        conf = self.config_dir
        (conf / "main.cf").write_text(MAIN_CF.format(
            conf=conf, root=self.root, queue=self.root / "queue", data=self.root / "data",
            log=self.log_file,
            myhostname=MYHOSTNAME, domain=self.domain, relay_port=self.recorder.port,
            cert=self.root / "server-cert.pem", key=self.root / "server-key.pem",
            sasl_dir=self.sasl_dir))
        (conf / "master.cf").write_text(
            MASTER_CF.format(listen=f"{self.host}:{self.port}".ljust(9)))

    def _postfix(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run([POSTFIX, "-c", str(self.config_dir), *args],
                              capture_output=True, text=True, timeout=max(timeout, 1.0),
                              check=False, stdin=subprocess.DEVNULL)

    def _postfix_start(self, deadline: float) -> str:
        """`postfix start` (it returns once the master has initialised); '' or why not."""
        self._started = True  # from here on, stop() must look for a master to stop
        try:
            result = self._postfix("start", timeout=deadline - time.monotonic())
        except subprocess.TimeoutExpired:
            self._stop_master()
            return f"`postfix start` took over {STARTUP_TIMEOUT:.0f} s\n{self.log_tail()}"
        if result.returncode == 0:
            return ""
        self._stop_master()  # in case it half started
        return _tail(result.stdout + result.stderr) + "\n" + self.log_tail()

    def _wait_listening(self, deadline: float) -> None:
        # The master binds the port before `postfix start` returns, but a connect also
        # proves smtpd can be spawned: wait for the greeting.
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as sock:
                    sock.settimeout(max(0.5, deadline - time.monotonic()))
                    if sock.recv(512).startswith(b"220"):
                        sock.sendall(b"QUIT\r\n")  # a clean goodbye keeps the log quiet
                        return
            except OSError as error:
                last = error
            time.sleep(0.1)
        raise RuntimeError(
            f"Postfix not answering on {self.host}:{self.port} ({last})\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop Postfix and the recorder, remove the directory. Safe to call twice."""
        atexit.unregister(self.stop)
        try:
            self._stop_master()
        finally:
            self.recorder.stop()
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None

    def _master_pid(self) -> int | None:
        try:
            return int((self.root / "queue" / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError, RuntimeError):
            return None

    def _stop_master(self) -> None:
        if self._root is None or not self._started:
            return
        pid = self._master_pid()
        try:
            self._postfix("stop", timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        # `postfix stop` may fail (e.g. a broken config): make sure the master is gone.
        # SIGTERM to the master is Postfix's "abort": it passes it on to its children.
        if pid is not None and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            end = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < end:
                time.sleep(0.05)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._started = False

    def __enter__(self) -> PostfixRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for tests ---------------------------------------------------------------------------

    def wait_for_message(self, count: int = 1, timeout: float = MESSAGE_TIMEOUT, *,
                         since: int = 0) -> list[Message]:
        """Wait until `count` messages beyond the first `since` arrived; return those.

        Raises AssertionError with the queue and the mail log when they do not come
        within `timeout` (at most MESSAGE_TIMEOUT) seconds.
        """
        end = time.monotonic() + min(timeout, MESSAGE_TIMEOUT)
        while len(self.messages) < since + count:
            if time.monotonic() >= end:
                raise AssertionError(
                    f"Postfix relayed {len(self.messages) - since} of {count} message(s)"
                    f" within {timeout:.0f} s\nqueue:\n{self.queue()}\n{self.log_tail()}")
            time.sleep(0.05)
        return self.messages[since:since + count]

    def queue(self) -> str:
        """`postqueue -p` for this instance (what is still waiting, and why)."""
        try:
            result = subprocess.run([POSTQUEUE, "-c", str(self.config_dir), "-p"],
                                    capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired, RuntimeError) as error:
            return f"(postqueue failed: {error})"
        return (result.stdout + result.stderr).strip()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "Postfix log (last lines):\n" + _tail(self.log_file.read_text(
                errors="replace"), lines)
        except (OSError, RuntimeError):
            return "(no Postfix log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # No zombie to worry about: `postfix start` daemonizes, the master is not our child.
    return True


def main() -> int:
    """Run a relay until Ctrl-C, for trying clients by hand."""
    with PostfixRelay() as relay:
        print(f"Postfix on {relay.host}:{relay.port} (STARTTLS, then AUTH"
              f" {' '.join(relay.mechanisms)})\n  CA file:  {relay.ca_file}\n"
              f"  user:     {relay.username}\n  password: {relay.password}\n"
              f"  relays to the recorder on port {relay.recorder.port}; Ctrl-C stops",
              flush=True)
        seen = 0
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(0.2)
                for message in relay.messages[seen:]:
                    print(f"--- relayed: from {message.mail_from} to {message.rcpt_tos}\n"
                          + message.content.decode("utf-8", "replace"), flush=True)
                seen = len(relay.messages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
