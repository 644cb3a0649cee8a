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
