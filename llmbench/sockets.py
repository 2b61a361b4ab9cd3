"""Local TCP ports: find a free one, see what a process listens on.

Used to start local services (the Phoenix server, test servers) on loopback
and to check, from ``/proc`` on Linux, that they expose nothing beyond it.
"""

from __future__ import annotations

import contextlib
import os
import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:`port` (closed connections aside)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """The TCP (address, port) pairs process `pid` listens on (Linux only).

    Read from ``/proc``: the process's socket inodes matched against the
    listening entries of ``/proc/net/tcp`` and ``tcp6``. Empty elsewhere.
    """
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    inodes = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])

    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    address, port = fields[1].split(":")
                    found.append((_decode_address(address), int(port, 16)))
    return found


def _decode_address(hex_address: str) -> str:
    """A /proc/net address (little-endian 32-bit words) as text."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(words) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, words)


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback."""
    return address.startswith(("127.", "::ffff:127.")) or address == "::1"
