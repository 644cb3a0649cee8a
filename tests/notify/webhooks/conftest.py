"""Fixtures of the webhook tests, none automatic (the address rules in test_addresses.py are
pure): ``guard`` fails a test that connects beyond loopback, ``names`` answers the known host
names without the network, ``webhook_env`` the short schedule and time-outs, ``receiver`` a
real HTTP receiver on loopback. A module asks for them (``pytest.mark.usefixtures``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.notify.webhooks.network import PUBLIC, REAL_CONNECT, REAL_CONNECT_EX, NetworkGuard
from tests.offline_dns import OfflineResolver
from tests.webhook_receiver import WebhookReceiver


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    watched = NetworkGuard()

    def connect(sock: socket.socket, address: Any) -> None:
        watched.check(sock, address)
        return REAL_CONNECT(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        watched.check(sock, address)
        return REAL_CONNECT_EX(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield watched
    assert watched.outside == [], "no test may send traffic beyond loopback"


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Host names the resolver answers with the given addresses; addresses resolve as the
    system reads them; any other name does not resolve. The network is never asked."""
    resolver = OfflineResolver(
        {
            "hooks.example.org": [PUBLIC],
            "xn--bcher-kva.example": [PUBLIC],  # bücher.example
            "loopback.example.test": ["127.0.0.1"],
            "127.0.0.1.nip.io": ["127.0.0.1"],
            "rebind.example.test": [PUBLIC, "10.0.0.1"],
            "v6.example.test": ["::1"],
            "mapped.example.test": ["::ffff:169.254.169.254"],
            "nat64.example.test": ["64:ff9b::a9fe:a9fe"],
        }
    )
    return resolver.install(monkeypatch).names


@pytest.fixture
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "5s,5m,30m")
    monkeypatch.setenv("WEBHOOK_CONNECT_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("WEBHOOK_READ_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("WEBHOOK_MAX_RETRY_AFTER_SECONDS", "3600")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()
