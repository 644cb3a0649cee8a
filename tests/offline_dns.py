"""A resolver for tests that never asks the network: the names a test gives it, addresses as
the system reads them (its own numeric parsing, ``AI_NUMERICHOST``: ``127.1`` and
``2130706433`` too), and for any other name "Name or service not known".

Install it with ``OfflineResolver({...}).install(monkeypatch)``; ``asked`` lists every host
looked up."""

from __future__ import annotations

import socket
from typing import Any

import pytest

REAL_GETADDRINFO = socket.getaddrinfo

# What /etc/hosts says on most systems.
LOCALHOST = ["127.0.0.1", "::1"]


class OfflineResolver:
    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names: dict[str, list[str]] = {"localhost": LOCALHOST, **(names or {})}
        self.asked: list[str] = []

    def getaddrinfo(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, ...]]:
        if isinstance(host, bytes):
            host = host.decode("ascii")
        name = str(host).lower()
        self.asked.append(name)
        port = int(port or 0)
        known = self.names.get(name.removesuffix("."))
        if known is None:
            try:
                return REAL_GETADDRINFO(
                    host, port, family, type, proto, flags | socket.AI_NUMERICHOST
                )
            except socket.gaierror:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        found: list[tuple[Any, ...]] = []
        for address in known:
            if ":" in address:
                found.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                found.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return found

    def install(self, monkeypatch: pytest.MonkeyPatch) -> OfflineResolver:
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)
        return self
