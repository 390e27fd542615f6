"""Hermetic runs for `run --capture` and `check`: nothing the script does can
deliver mail anywhere but the capture server.

`isolate()` moves this process (before it starts any thread) into a new
network namespace that holds only loopback, brought up here, plus a mount
namespace of its own where one can be had. The capture server, the script
and every child the script starts then share that namespace: a connection to
any other address fails with "network is unreachable", and the host's own
127.0.0.1 is out of reach (the namespace's loopback is another one). As root
a plain network namespace is used; otherwise a user namespace that maps the
caller's own uid and gid, where the kernel allows one.

`SendmailShim` puts a `sendmail` on the children's PATH (and, in the mount
namespace, over /usr/sbin/sendmail) that hands the message to the capture
server over SMTP, and `child_env` is what children inherit:
TCLBRIDGE_CAPTURE_SERVER, so that a child `tclbridge run` and the shim send
to the same server, with its implicit-TLS listener and its CA
(`CaptureEndpoint`), so that a child's TLS reaches it and is verified.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import ipaddress
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tclbridge.environment import CAPTURE_ENV as CAPTURE_ENV  # re-exported
from tclbridge.environment import CAPTURE_SERVER_ENV

# CAPTURE_ENV, CAPTURE_SERVER_ENV: tclbridge.environment.
CAPTURE_TLS_SERVER_ENV = "TCLBRIDGE_CAPTURE_TLS_SERVER"  # HOST:PORT of its implicit-TLS listener
CAPTURE_CAFILE_ENV = "TCLBRIDGE_CAPTURE_CAFILE"  # the CA certificate (PEM) it presents one from
# The network namespace that server runs in: a child elsewhere (a stale or
# made-up variable) must not take some loopback server for the capture.
CAPTURE_NETNS_ENV = "TCLBRIDGE_CAPTURE_NETNS"

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
# Where scripts name sendmail by its full path (/usr/lib/sendmail is a link to
# the first on Debian).
SENDMAIL_PATHS = ("/usr/sbin/sendmail", "/usr/lib/sendmail")


class SandboxError(OSError):
    """The namespace was made but cannot be used (loopback would not come up)."""


@dataclass(frozen=True)
class Isolation:
    network: bool  # in a private network namespace with only loopback
    mounts: bool  # also in a private mount namespace (bind mounts stay here)
    reason: str = ""  # why there is no network namespace

    def warning(self) -> str | None:
        """The one line to print at start when the run is not hermetic."""
        if self.network:
            return None
        return (f"tclbridge: warning: no private network namespace ({self.reason}): "
                "mail the script sends other than through the bridge's smtp or sendmail "
                "on PATH can reach real servers")


def isolate() -> Isolation:
    """Enter new network (and mount) namespaces with loopback up; must run
    before this process starts a thread."""
    if not sys.platform.startswith("linux"):
        return Isolation(False, False, "network namespaces are Linux-only")
    if threading.active_count() > 1:
        return Isolation(False, False, "the process already runs threads")
    uid, gid = os.geteuid(), os.getegid()
    user = () if uid == 0 else (_CLONE_NEWUSER,)
    try:
        mounts = _try_unshare(_CLONE_NEWNET | _CLONE_NEWNS, *user)
        if not mounts:
            _unshare(_CLONE_NEWNET, *user)
    except OSError as exc:
        return Isolation(False, False, f"unshare: {exc.strerror or exc}")
    if user:
        try:
            _map_ids(uid, gid)
        except OSError as exc:
            raise SandboxError(exc.errno, f"cannot map uid {uid} into the user namespace: "
                                          f"{exc.strerror or exc}") from None
    if mounts:
        # Bind mounts made later must not propagate back to the host.
        try:
            _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        except OSError:
            mounts = False
    try:
        _loopback_up()
    except OSError as exc:
        raise SandboxError(exc.errno, f"cannot bring up loopback in the namespace: "
                                      f"{exc.strerror or exc}") from None
    return Isolation(True, mounts)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _unshare(*flags: int) -> None:
    value = 0
    for flag in flags:
        value |= flag
    native = getattr(os, "unshare", None)  # Python 3.12+
    if native is not None:
        native(value)
        return
    if _libc().unshare(value) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _try_unshare(*flags: int) -> bool:
    try:
        _unshare(*flags)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EINVAL):
            return False
        raise
    return True


def _map_ids(uid: int, gid: int) -> None:
    """In a new user namespace: be the same uid and gid as outside."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _mount(source: str | None, target: str, fstype: str | None, flags: int) -> None:
    def arg(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    if _libc().mount(arg(source), arg(target), arg(fstype), flags, None) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), target)


def _loopback_up() -> None:
    """`ip link set lo up` with one ioctl, so iproute2 is not needed."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | _IFF_UP))


# -- what children inherit ------------------------------------------------------------


_SHIM = """#!/bin/sh
# tclbridge's sendmail: hands the message to the capture server.
exec {python} -I -S {module} "$@"
"""


class SendmailShim:
    """A directory with a `sendmail` that delivers to $TCLBRIDGE_CAPTURE_SERVER;
    with a private mount namespace it is also bound over /usr/sbin/sendmail."""

    def __init__(self, isolation: Isolation) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="tclbridge_sendmail_"))
        self.program = self.directory / "sendmail"
        module = Path(__file__).with_name("sendmail_shim.py")
        self.program.write_text(_SHIM.format(python=_quote(sys.executable),
                                             module=_quote(str(module))))
        self.program.chmod(0o755)
        self.covers_system_sendmail = isolation.mounts and self._bind_over_system_sendmail()

    def _bind_over_system_sendmail(self) -> bool:
        bound = False
        for path in SENDMAIL_PATHS:
            if os.path.islink(path) or not os.path.isfile(path):
                continue  # a link follows its target; no file, no mount point
            try:
                _mount(str(self.program), path, None, _MS_BIND)
                bound = True
            except OSError:
                pass
        return bound

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


# Local MTAs' pickup directories: a root script could drop a message file
# there for a running MTA outside to deliver. An empty directory goes over each.
MAIL_QUEUES = ("/var/spool/postfix/maildrop", "/var/spool/exim4/input",
               "/var/spool/mqueue", "/var/spool/clientmqueue")


# Local services that run programs for a client, outside the network
# namespace: the user's and the system's service managers (`systemd-run`,
# over their D-Bus and private sockets) and container engines. A Unix socket
# file is reachable from any network namespace, so each is covered too.
SERVICE_DIRECTORIES = ("/run/user", "/run/dbus", "/run/containerd", "/run/podman",
                       "/run/docker")
SERVICE_SOCKETS = ("/run/systemd/private", "/run/docker.sock", "/var/run/docker.sock")


def seal(isolation: Isolation, scratch: Path, hide: Sequence[str] = ()) -> None:
    """The last step of making the sandbox: local MTAs' pickup directories,
    the sockets of services that run programs outside, and the host
    directories in `hide` (the desktop's X sockets, say) are covered by an
    empty directory or file (made in `scratch`), then the capabilities that
    could undo the mounts or leave the namespace are given up."""
    if isolation.mounts:
        _hide_directories(scratch, (*MAIL_QUEUES, *SERVICE_DIRECTORIES, *hide))
        _hide_files(scratch, SERVICE_SOCKETS)
    if isolation.network:
        # Last, once the mounts are made: nothing may undo them now.
        drop_escape_capabilities()


def _hide_files(scratch: Path, files: Sequence[str]) -> None:
    """Cover each file (a socket, say) with an empty regular one: connecting
    to it is then refused."""
    empty = scratch / "empty-file"
    empty.touch(mode=0o444, exist_ok=True)
    for path in files:
        if os.path.exists(path) and not os.path.islink(path) and not os.path.isdir(path):
            try:
                _mount(str(empty), path, None, _MS_BIND)
            except OSError:
                pass


def _hide_directories(scratch: Path, directories: Sequence[str]) -> None:
    empty = scratch / "empty"
    empty.mkdir(mode=0o555, exist_ok=True)
    for directory in directories:
        if os.path.isdir(directory) and not os.path.islink(directory):
            try:
                _mount(str(empty), directory, None, _MS_BIND)
            except OSError:
                pass


# Capabilities that let a process (as root, or in its own user namespace)
# leave or undo the sandbox: setns into the host's network namespace,
# umount of the sendmail shim, ptrace of a process outside, modules, raw
# I/O, BPF.
_CAP_SYS_MODULE, _CAP_SYS_RAWIO, _CAP_SYS_PTRACE, _CAP_SYS_ADMIN, _CAP_BPF = 16, 17, 19, 21, 39
ESCAPE_CAPABILITIES = (_CAP_SYS_MODULE, _CAP_SYS_RAWIO, _CAP_SYS_PTRACE, _CAP_SYS_ADMIN, _CAP_BPF)
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_escape_capabilities() -> None:
    """Give up ESCAPE_CAPABILITIES for this process (a `tclbridge::call`
    helper runs in it) and for every program it starts (the bounding set),
    so that a root script cannot join the host's namespaces again."""
    libc = _libc()
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in ESCAPE_CAPABILITIES:
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL for a cap this kernel lacks
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        return
    for cap in ESCAPE_CAPABILITIES:
        word, bit = divmod(cap, 32)
        mask = ~(1 << bit) & 0xFFFFFFFF
        data[word].effective &= mask
        data[word].permitted &= mask
        data[word].inheritable &= mask
    if libc.capset(ctypes.byref(header), data) != 0:
        code = ctypes.get_errno()
        raise SandboxError(code, f"cannot drop capabilities: {os.strerror(code)}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@dataclass(frozen=True)
class CaptureEndpoint:
    """A running capture server, as its clients reach it."""

    server: tuple[str, int]  # SMTP, STARTTLS offered
    # The same server speaking TLS from the first byte: where a -tlsimport 1
    # connection goes.
    implicit_tls: tuple[str, int] | None = None
    cafile: str | None = None  # the CA certificate its server certificate comes from


def child_env(endpoint: CaptureEndpoint, shim: SendmailShim | None,
              base: Mapping[str, str] | None = None,
              journal: str | None = None) -> dict[str, str]:
    """`base` (default os.environ) with the capture server, its `journal`
    socket (tclbridge.journal; never one inherited from elsewhere) and the
    shim's PATH."""
    from tclbridge.host_port import format_host_port
    from tclbridge.journal import JOURNAL_ENV

    env = dict(os.environ if base is None else base)
    for name in (CAPTURE_TLS_SERVER_ENV, CAPTURE_CAFILE_ENV):
        env.pop(name, None)  # not a previous capture's
    env[CAPTURE_SERVER_ENV] = format_host_port(endpoint.server)
    if endpoint.implicit_tls is not None:
        env[CAPTURE_TLS_SERVER_ENV] = format_host_port(endpoint.implicit_tls)
    if endpoint.cafile is not None:
        env[CAPTURE_CAFILE_ENV] = endpoint.cafile
    env[CAPTURE_NETNS_ENV] = network_namespace()
    env.pop(JOURNAL_ENV, None)
    if journal is not None:
        env[JOURNAL_ENV] = journal
    if shim is not None:
        path = env.get("PATH", os.defpath)
        env["PATH"] = f"{shim.directory}{os.pathsep}{path}"
    return env


def inherited_endpoint(environ: Mapping[str, str]) -> CaptureEndpoint:
    """The capture server `child_env` described: a capture server is always
    on loopback, so any other address is refused (it would be a way out)."""
    tls = environ.get(CAPTURE_TLS_SERVER_ENV)
    return CaptureEndpoint(
        server=_loopback_address(CAPTURE_SERVER_ENV, environ.get(CAPTURE_SERVER_ENV, "")),
        implicit_tls=_loopback_address(CAPTURE_TLS_SERVER_ENV, tls) if tls else None,
        cafile=environ.get(CAPTURE_CAFILE_ENV) or None,
    )


def _loopback_address(name: str, text: str) -> tuple[str, int]:
    from tclbridge.config import ConfigError
    from tclbridge.host_port import parse_host_port

    try:
        host, port = parse_host_port(text)
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError as exc:
        raise ConfigError(f"{name}={text}: {exc}") from None
    if not loopback:
        raise ConfigError(f"{name}={text}: not a loopback address")
    return host, port


def network_namespace() -> str:
    """This process's network namespace, as /proc names it ("net:[N]")."""
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return ""


def is_ours(environ: Mapping[str, str]) -> bool:
    """Whether the inherited capture server runs in this network namespace,
    that is, was started by a capturing parent of this process."""
    marker = environ.get(CAPTURE_NETNS_ENV, "")
    return marker != "" and marker == network_namespace()


def reachable(server: tuple[str, int], timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(server, timeout=timeout):
            return True
    except OSError:
        return False
