"""Whose socket is it (Linux): the process at the other end of a Unix
socket, and whether a process holds a TCP socket bound to a given local
address. The capture's journal takes a child's record of a connection only
from the process that made the connection, so a script's process tree
cannot write over the record of a connection that is not its own.

How: SO_PEERCRED gives the pid that connected to the journal socket (the
kernel's word, not the child's). /proc/PID/net/tcp and tcp6 list the TCP
sockets of that process's network namespace with their local address and
inode; /proc/PID/fd holds a "socket:[INODE]" link for each socket the
process has open. The namespace must be the capture's own: a socket with the
same address in another namespace is another connection.

The answer is "no" whenever it cannot be had (no /proc, a process that has
ended or that /proc does not show to us, more open files than MAX_FDS): a
genuine child asks while its connection is open and waits for the answer, so
it always passes.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

MAX_FDS = 4096  # open files looked through for one answer (a bridge child has a few dozen)
_PEERCRED = struct.Struct("3i")  # pid, uid, gid


def peer_pid(sock: socket.socket) -> int | None:
    """The pid of the process that connected `sock` (a Unix socket), or None
    where the system does not say."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        pid, _, _ = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _PEERCRED.size))
    except OSError:
        return None
    return pid if pid > 0 else None


def owns_tcp_socket(pid: int, local_address: str) -> bool:
    """Whether process `pid`, in this process's network namespace, has a TCP
    socket open whose local address is `local_address` ("HOST:PORT")."""
    try:
        address, port = _parse(local_address)
        if not _same_network_namespace(pid):
            return False
        inodes = _inodes(pid, address, port)
        return bool(inodes) and _has_open(pid, {f"socket:[{inode}]" for inode in inodes})
    except (OSError, ValueError):
        return False


def _parse(local_address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    host, _, port = local_address.rpartition(":")
    number = int(port)
    if not 0 < number < 65536 or not port.isdigit():
        raise ValueError(f"not a port: {port!r}")
    return ipaddress.ip_address(host.strip("[]")), number


def _same_network_namespace(pid: int) -> bool:
    theirs, ours = os.stat(f"/proc/{pid}/ns/net"), os.stat("/proc/self/ns/net")
    return (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)


def _inodes(pid: int, address: ipaddress.IPv4Address | ipaddress.IPv6Address,
            port: int) -> set[str]:
    """The inodes of the TCP sockets bound to `address`:`port` (an IPv4
    address also as IPv6's ::ffff:a.b.c.d)."""
    wanted = {address.packed}
    if isinstance(address, ipaddress.IPv4Address):
        wanted.add(ipaddress.IPv6Address(f"::ffff:{address}").packed)
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as rows:
                next(rows, None)  # the heading
                for row in rows:
                    fields = row.split()
                    local, inode = fields[1], fields[9]
                    host, _, hex_port = local.partition(":")
                    if int(hex_port, 16) == port and inode != "0" and _packed(host) in wanted:
                        found.add(inode)
        except FileNotFoundError:  # no IPv6 in this kernel
            continue
    return found


def _packed(hex_address: str) -> bytes:
    """An address as /proc/net/tcp prints it (each 32-bit word in the
    machine's byte order) as network-order bytes."""
    return b"".join(struct.pack("=I", int(hex_address[i:i + 8], 16))
                    for i in range(0, len(hex_address), 8))


def _has_open(pid: int, links: set[str]) -> bool:
    with os.scandir(f"/proc/{pid}/fd") as entries:
        for count, entry in enumerate(entries):
            if count >= MAX_FDS:
                return False
            try:
                if os.readlink(entry.path) in links:
                    return True
            except OSError:  # closed meanwhile
                continue
    return False
