"""Fail any test that opens a network connection outside loopback.

Installed for the whole test session from conftest. Unix sockets and 127.0.0.0/8 / ::1 pass;
anything else raises before a single packet leaves.
"""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "testserver"}


class NetworkAccessBlocked(ConnectionError):
    """An OSError, so HTTP clients fail the way they would offline; also recorded in `violations`
    so a test that swallows the error still fails (see conftest)."""


violations: list[str] = []


def is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or (
        address.version == 6 and address.ipv4_mapped is not None and address.ipv4_mapped.is_loopback
    )


def _check(sock_family, address) -> None:
    if sock_family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not is_loopback(host):
        violations.append(repr(host))
        raise NetworkAccessBlocked(f"tests may only connect to loopback, not {host!r}")


_original = {}


def install() -> None:
    if _original:
        return
    _original["connect"] = socket.socket.connect
    _original["connect_ex"] = socket.socket.connect_ex
    _original["getaddrinfo"] = socket.getaddrinfo

    def guarded_connect(self, address):
        _check(self.family, address)
        return _original["connect"](self, address)

    def guarded_connect_ex(self, address):
        _check(self.family, address)
        return _original["connect_ex"](self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and not is_loopback(host):
            violations.append(repr(host))
            raise NetworkAccessBlocked(f"tests may not resolve {host!r}: only loopback is reachable")
        return _original["getaddrinfo"](host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.getaddrinfo = guarded_getaddrinfo
