"""Webhooks end to end against real PostgreSQL, Redis and a real HTTP receiver on loopback
(allowed by WEBHOOK_ALLOWED_HOSTS for these tests): the consumer records one delivery per
(event, endpoint), the attempt is signed after Standard Webhooks (checked with the
``standardwebhooks`` library), retried on the schedule and on Retry-After, 3xx fails and is
never followed, 410 disables, days of failures disable and tell the Coordinator, staff replay.

SSRF: every socket connect is watched; a connect anywhere but loopback fails the test, and
the tests that name internal targets check that nothing was sent at all."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from services.notify.webhooks import client, domain, tasks
from services.notify.webhooks.models import WebhookEndpoint
from services.notify.worker import database
from tests.helpers import queued_tasks, stored_rows
from tests.intake.factories import submitted_event
from tests.notify.webhooks.helpers import (
    an_event,
    attempts,
    consume,
    deliveries,
    one_delivery_for,
    planted,
    register,
)
from tests.notify.webhooks.network import INTERNAL_HOSTS, PUBLIC, PUBLIC_ONLY
from tests.shared.factories import COORDINATOR, REVIEWER, signed_in

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("clean_databases", "guard", "names", "webhook_env"),
]


# -- the API and the pages -----------------------------------------------------------------------


def test_the_coordinator_registers_rotates_disables_and_deletes_through_the_api(notify_app):
    client = signed_in(notify_app, COORDINATOR)
    made = client.post(
        "/api/v1/webhooks/endpoints",
        json={
            "url": "https://hooks.example.org/alliance",
            "description": "Partner portal",
            "event_types": ["report.overdue", "proposal.submitted", "report.overdue"],
        },
    )
    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"  # it shows the secret
    created = made.get_json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert created["event_types"] == ["proposal.submitted", "report.overdue"]
    endpoint_id = created["id"]

    shown = client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}").get_json()
    assert "secret" not in shown
    listed = client.get("/api/v1/webhooks/endpoints").get_data(as_text=True)
    assert secret not in listed
    with database.transaction() as session:
        stored = session.get(WebhookEndpoint, uuid.UUID(endpoint_id))
        assert stored is not None
        assert secret.removeprefix("whsec_") not in stored.sealed_secret  # encrypted at rest

    rotated = client.post(f"/api/v1/webhooks/endpoints/{endpoint_id}/secret").get_json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != secret

    disabled = client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint_id}",
        json={"enabled": False, "description": "Paused"},
    ).get_json()
    assert (disabled["enabled"], disabled["description"]) == (False, "Paused")
    assert disabled["disabled_reason"] == "Disabled by Cora."
    consume(an_event())
    assert deliveries() == []  # a disabled endpoint gets no new deliveries

    assert client.delete(f"/api/v1/webhooks/endpoints/{endpoint_id}").status_code == 204
    assert client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}").status_code == 404


def test_only_the_coordinator_manages_webhooks(notify_app):
    endpoint_id, _secret = register("https://hooks.example.org/alliance")
    reviewer = signed_in(notify_app, REVIEWER)
    assert reviewer.get("/api/v1/webhooks/endpoints").status_code == 403
    before = stored_rows(database)
    assert reviewer.post(f"/api/v1/webhooks/endpoints/{endpoint_id}/secret").status_code == 403
    paused = {"enabled": False, "description": "Paused"}
    assert (
        reviewer.patch(f"/api/v1/webhooks/endpoints/{endpoint_id}", json=paused).status_code == 403
    )
    assert reviewer.delete(f"/api/v1/webhooks/endpoints/{endpoint_id}").status_code == 403
    assert stored_rows(database) == before  # the same secret, enabled, still there
    assert reviewer.get("/staff/webhooks").status_code == 403
    assert notify_app.test_client().get("/api/v1/webhooks/endpoints").status_code == 401
    with database.transaction() as session, pytest.raises(Exception, match="Coordinator"):
        domain.list_endpoints(session, REVIEWER)


def test_staff_see_deliveries_and_replay_one(notify_app, receiver, redis_client):
    endpoint_id, delivery_id, secret = one_delivery_for(receiver.url)
    tasks.deliver(delivery_id)
    redis_client.delete("notify")
    client = signed_in(notify_app, COORDINATOR)

    listed = client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries").get_json()
    assert [(d["id"], d["status"]) for d in listed["deliveries"]] == [
        (str(delivery_id), "delivered")
    ]
    replayed = client.post(f"/api/v1/webhooks/deliveries/{delivery_id}/replay")
    assert replayed.status_code == 202
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_webhook", {"delivery_id": str(delivery_id)})
    ]
    assert tasks.deliver_webhook(delivery_id=str(delivery_id)) == "delivered"

    assert len(receiver.received) == 2
    Webhook(secret).verify(receiver.received[1].body, receiver.received[1].headers)
    shown = client.get(f"/api/v1/webhooks/deliveries/{delivery_id}").get_json()
    assert [(a["number"], a["status_code"], a["replayed_by"]) for a in shown["attempts_made"]] == [
        (1, 200, None),
        (2, 200, "cora@agency.example"),
    ]
    assert json.loads(shown["body"])["type"] == "proposal.submitted"
    page = client.get(f"/staff/webhooks/deliveries/{delivery_id}").get_data(as_text=True)
    assert "replayed by Cora" in page  # by name, not by address
    assert client.post(f"/staff/webhooks/deliveries/{delivery_id}").status_code == 303


# -- one address check for registration and delivery, form by form ----------------------------


def stored_urls() -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(select(WebhookEndpoint.url)))


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_the_api_refuses_an_internal_host_however_written(monkeypatch, notify_app, host):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    client = signed_in(notify_app, COORDINATOR)

    answer = client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": f"https://{host}/hooks", "event_types": ["proposal.submitted"]},
    )

    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    assert list(errors) == ["url"]
    assert errors["url"][0].startswith(PUBLIC_ONLY)
    assert stored_urls() == []


@pytest.mark.parametrize(
    ("url", "reached"),
    [
        ("https://hooks.example.org/alliance", (PUBLIC, 443)),
        ("https://HOOKS.example.org./alliance", (PUBLIC, 443)),
        ("https://bücher.example/hooks", (PUBLIC, 443)),
        (f"https://{PUBLIC}:8443/hooks", (PUBLIC, 8443)),
        ("https://1.1.1.1/hooks", ("1.1.1.1", 443)),
        ("https://[2606:4700:4700::1111]/hooks", ("2606:4700:4700::1111", 443, 0, 0)),
    ],
)
def test_a_public_endpoint_is_registered_and_delivery_goes_to_its_address(
    monkeypatch, notify_app, guard, url, reached
):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    staff = signed_in(notify_app, COORDINATOR)

    answer = staff.post(
        "/api/v1/webhooks/endpoints", json={"url": url, "event_types": ["proposal.submitted"]}
    )

    assert answer.status_code == 201, answer.get_json()
    assert stored_urls() == [url]
    # Delivery passes the check and connects to the address (the guard stops it there).
    with pytest.raises(AssertionError, match="a test tried to connect to"):
        client.post(
            url, body=b"{}", headers={}, allowed_hosts=(), connect_timeout=1, read_timeout=1
        )
    assert guard.outside == [reached]
    guard.outside.clear()


def test_a_name_that_does_not_resolve_is_refused_at_registration_and_retried_at_delivery(
    monkeypatch, notify_app, names
):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    client = signed_in(notify_app, COORDINATOR)
    url = "https://hooks.exmaple.org/alliance"

    answer = client.post(
        "/api/v1/webhooks/endpoints", json={"url": url, "event_types": ["proposal.submitted"]}
    )

    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {
        "url": [
            "The name hooks.exmaple.org does not resolve to any address: check it, or "
            "register the endpoint once its DNS name is set up."
        ]
    }
    endpoint_id = planted(url)
    consume(an_event())
    [delivery] = deliveries(endpoint_id)
    assert tasks.deliver(delivery.id).status == "pending"
    [attempt] = attempts(delivery.id)
    assert attempt.error.startswith("hooks.exmaple.org could not be resolved")


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        ("127.0.0.1", "http://127.1:{port}/hooks"),
        ("127.0.0.1", "http://2130706433:{port}/hooks"),
        ("localhost", "http://localhost.:{port}/hooks"),
        ("loopback.example.test", "http://loopback.example.test:{port}/hooks"),
    ],
)
def test_an_operator_allowed_loopback_host_is_registered_and_reached(
    monkeypatch, notify_app, receiver, guard, names, allowed, url
):
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", allowed)
    names["localhost"] = ["127.0.0.1"]  # the receiver listens on IPv4
    url = url.format(port=receiver.port)
    client = signed_in(notify_app, COORDINATOR)

    by_api = client.post(
        "/api/v1/webhooks/endpoints", json={"url": url, "event_types": ["proposal.submitted"]}
    )
    by_page = client.post("/staff/webhooks", data={"url": url, "event_types": ["report.overdue"]})

    assert (by_api.status_code, by_page.status_code) == (201, 201)
    endpoint_id = uuid.UUID(by_api.get_json()["id"])
    consume(an_event())
    [delivery] = deliveries(endpoint_id)
    assert tasks.deliver(delivery.id).status == "delivered"
    assert len(receiver.received) == 1
    assert [c for c in guard.connects if c[1] == receiver.port] == [("127.0.0.1", receiver.port)]
    # Without the operator's word the same URL is refused on both paths.
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    again = client.post(
        "/api/v1/webhooks/endpoints", json={"url": url, "event_types": ["proposal.submitted"]}
    )
    assert again.status_code == 422
    consume(submitted_event().to_message())
    [later] = [d for d in deliveries(endpoint_id) if d.id != delivery.id]
    assert tasks.deliver(later.id).status == "pending"
    assert attempts(later.id)[0].error.startswith("refused: ")
    assert len(receiver.received) == 1
