"""Webhooks end to end against real PostgreSQL, Redis and a real HTTP receiver on loopback
(allowed by WEBHOOK_ALLOWED_HOSTS for these tests): the consumer records one delivery per
(event, endpoint), the attempt is signed after Standard Webhooks (checked with the
``standardwebhooks`` library), retried on the schedule and on Retry-After, 3xx fails and is
never followed, 410 disables, days of failures disable and tell the Coordinator, staff replay.

SSRF: every socket connect is watched; a connect anywhere but loopback fails the test, and
the tests that name internal targets check that nothing was sent at all."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from services.notify.webhooks import client, tasks
from tests.notify.webhooks.helpers import (
    an_event,
    attempts,
    consume,
    deliveries,
    one_delivery_for,
    planted,
)
from tests.notify.webhooks.network import INTERNAL_HOSTS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("clean_databases", "guard", "names", "webhook_env"),
]


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
    guard.connects.clear()  # the test's own connections to the databases and the broker

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
    guard.connects.clear()  # the test's own connections to the databases and the broker

    assert tasks.deliver(delivery_id).status == "delivered"

    [request] = receiver.received
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert guard.connects == [("127.0.0.1", receiver.port)]
    Webhook(secret).verify(request.body, request.headers)


# -- one address check for registration and delivery, form by form ----------------------------


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
