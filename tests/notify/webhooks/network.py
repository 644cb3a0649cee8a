"""The webhook tests' network: a guard that fails any connect beyond loopback, and the public
address the known host names resolve to. Pure (no service imported): conftest.py uses it, and
pytest may import a conftest before the test servers are chosen."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

REAL_CONNECT = socket.socket.connect
REAL_CONNECT_EX = socket.socket.connect_ex


class NetworkGuard:
    """Every connect of the test: any address but loopback is refused and fails the test."""

    def __init__(self) -> None:
        self.connects: list[Any] = []
        self.outside: list[Any] = []

    def check(self, sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            self.connects.append(address)
            if not ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback:
                self.outside.append(address)
                raise AssertionError(f"a test tried to connect to {address}")


PUBLIC = "93.184.215.14"


# Every way a URL can write an internal host; the ``names`` fixture answers
# the names at the end (conftest.py).
INTERNAL_HOSTS = [
    # IPv4 as inet_aton and getaddrinfo read it: decimal, hex, octal, short, mixed, trailing dot
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "127.1",
    "0",
    "0x7f.1",
    "0177.0x0.1",
    "017700000001",
    "127.000.000.001",
    "127.0.0.1.",
    "2130706433.",
    "10.1",
    "167772161",  # 10.0.0.1
    "0xa9fea9fe",  # 169.254.169.254
    "0251.0376.0251.0376",  # 169.254.169.254
    "100.64.1",  # CGNAT
    "0.0.0.0",  # noqa: S104
    "00",
    "224.1",  # multicast
    "240.1",  # reserved
    "4294967295",  # broadcast
    "１２７.０.０.１",  # full-width digits and dots: IDNA makes them 127.0.0.1  # noqa: RUF001
    # IPv6, bracketed, with zone ids, and the forms that reach IPv4
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::1%25lo]",
    "[fe80::1%25eth0]",
    "[::]",
    "[fd00::1]",
    "[fec0::1]",  # site-local
    "[ff02::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::ffff:a00:1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[64:ff9b::7f00:1]",  # NAT64
    "[2002:7f00:1::]",  # 6to4
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    # names of this machine or of a private network, refused without a look-up
    "localhost",
    "LOCALHOST",
    "localhost.",
    "ip6-localhost",
    "ip6-loopback",
    "anything.localhost",
    "a.b.localhost.",
    "metadata.google.internal",
    "printer.local",
    # names that resolve to an internal address (one bad address among good ones too)
    "loopback.example.test",
    "127.0.0.1.nip.io",
    "rebind.example.test",
    "v6.example.test",
    "mapped.example.test",
    "nat64.example.test",
]

# How the refusal of an internal address begins, in the API and on the page.
PUBLIC_ONLY = "The URL must point to a public address, not an internal one: "
