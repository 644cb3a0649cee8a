"""Webhooks end to end against real PostgreSQL, Redis and a real HTTP receiver on loopback
(allowed by WEBHOOK_ALLOWED_HOSTS for these tests): the consumer records one delivery per
(event, endpoint), the attempt is signed after Standard Webhooks (checked with the
``standardwebhooks`` library), retried on the schedule and on Retry-After, 3xx fails and is
never followed, 410 disables, days of failures disable and tell the Coordinator, staff replay.

SSRF: every socket connect is watched; a connect anywhere but loopback fails the test, and
the tests that name internal targets check that nothing was sent at all."""

from __future__ import annotations

import ipaddress
import socket
import uuid
from typing import Any

import pytest
from sqlalchemy import select, update
from standardwebhooks import Webhook

from services.notify.webhooks import client, domain, tasks
from services.notify.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.notify.worker import database
from shared.config import load_settings
from shared.db import utcnow
from tests.intake.factories import submitted_event
from tests.offline_dns import OfflineResolver
from tests.shared.factories import COORDINATOR
from tests.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

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


@pytest.fixture(autouse=True)
def guard(monkeypatch) -> Any:
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


PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def names(monkeypatch) -> dict[str, list[str]]:
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


@pytest.fixture(autouse=True)
def webhook_env(monkeypatch) -> None:
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "5s,5m,30m")
    monkeypatch.setenv("WEBHOOK_CONNECT_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("WEBHOOK_READ_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("WEBHOOK_MAX_RETRY_AFTER_SECONDS", "3600")


@pytest.fixture
def receiver() -> Any:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def register(url: str, event_types: list[str] | None = None) -> tuple[uuid.UUID, str]:
    with database.transaction() as session:
        made = domain.create_endpoint(
            session,
            COORDINATOR,
            url=url,
            event_types=event_types or ["proposal.submitted"],
            description="The partner portal",
            settings=load_settings().webhooks,
            now=utcnow(),
        )
        return made.endpoint.id, made.secret


def planted(url: str) -> uuid.UUID:
    """An endpoint stored as it is, past the registration check (as if its DNS changed)."""
    endpoint_id, _secret = register("https://hooks.example.org/alliance")
    with database.transaction() as session:
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(url=url)
        )
    return endpoint_id


def an_event(status_url: str = "https://apply.example/status?token=secret") -> dict[str, Any]:
    return submitted_event(status_url=status_url).to_message()


def consume(event: dict[str, Any]) -> None:
    tasks.CONSUMERS[event["type"]](event=event)


def deliveries(endpoint_id: uuid.UUID | None = None) -> list[WebhookDelivery]:
    with database.transaction() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.created_at)
        if endpoint_id is not None:
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        found = list(session.scalars(query))
        session.expunge_all()
        return found


def attempts(delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    with database.transaction() as session:
        found = list(
            session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.number)
            )
        )
        session.expunge_all()
        return found


def endpoint(endpoint_id: uuid.UUID) -> WebhookEndpoint:
    with database.transaction() as session:
        found = session.get(WebhookEndpoint, endpoint_id)
        assert found is not None
        session.expunge(found)
        return found


def one_delivery_for(url: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    endpoint_id, secret = register(url)
    consume(an_event())
    [delivery] = deliveries(endpoint_id)
    return endpoint_id, delivery.id, secret


@pytest.mark.parametrize(
    ("url", "resolves_to"),
    [
        ("http://127.0.0.1:{port}/hooks", None),  # loopback, not allowed
        ("https://[::1]:{port}/hooks", None),
        ("https://hooks.example.test:{port}/hooks", ["127.0.0.1"]),  # a name to loopback
        ("https://hooks.example.test/hooks", ["169.254.169.254"]),
        ("https://hooks.example.test/hooks", ["10.0.0.1"]),
        ("https://hooks.example.test/hooks", ["100.64.12.1"]),
        ("https://hooks.example.test/hooks", ["::ffff:10.0.0.1"]),
        ("https://hooks.example.test/hooks", ["64:ff9b::a00:1"]),  # NAT64 of 10.0.0.1
        ("https://hooks.example.test/hooks", ["93.184.215.14", "10.0.0.1"]),  # one bad one
        ("https://169.254.169.254/latest/meta-data", None),
        ("https://10.0.0.1/hooks", None),
    ],
)
def test_delivery_refuses_internal_addresses_before_any_packet_leaves(
    monkeypatch, receiver, guard, names, url, resolves_to
):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    if resolves_to:
        names["hooks.example.test"] = resolves_to
    endpoint_id = planted(url.format(port=receiver.port))
    consume(an_event())
    [delivery] = deliveries(endpoint_id)

    assert tasks.deliver(delivery.id).status == "pending"

    assert receiver.received == []
    assert guard.connects == []
    [attempt] = attempts(delivery.id)
    assert attempt.status_code is None
    assert attempt.error.startswith("refused")


def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    monkeypatch, receiver, guard, names
):
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "hooks.example.test")
    names["hooks.example.test"] = ["127.0.0.1"]
    url = f"http://hooks.example.test:{receiver.port}/hooks"
    _endpoint_id, delivery_id, secret = one_delivery_for(url)

    assert tasks.deliver(delivery_id).status == "delivered"

    [request] = receiver.received
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert guard.connects == [("127.0.0.1", receiver.port)]
    Webhook(secret).verify(request.body, request.headers)


# -- one address check for registration and delivery, form by form ----------------------------

# Every way a URL can write an internal host; the autouse resolver answers the names at the end.
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


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_delivery_refuses_an_internal_host_however_written(monkeypatch, receiver, guard, host):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    endpoint_id = planted(f"https://{host}/hooks")
    consume(an_event())
    [delivery] = deliveries(endpoint_id)
    guard.connects.clear()

    assert tasks.deliver(delivery.id).status == "pending"

    assert guard.connects == []
    [attempt] = attempts(delivery.id)
    assert attempt.status_code is None
    assert attempt.error.startswith("refused: ")
    answer = client.post(
        f"https://{host}/hooks",
        body=b"{}",
        headers={},
        allowed_hosts=(),
        connect_timeout=1,
        read_timeout=1,
    )
    assert (answer.status, answer.error[:9]) == (None, "refused: ")
    assert guard.connects == []
