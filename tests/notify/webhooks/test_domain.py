"""Webhooks end to end against real PostgreSQL, Redis and a real HTTP receiver on loopback
(allowed by WEBHOOK_ALLOWED_HOSTS for these tests): the consumer records one delivery per
(event, endpoint), the attempt is signed after Standard Webhooks (checked with the
``standardwebhooks`` library), retried on the schedule and on Retry-After, 3xx fails and is
never followed, 410 disables, days of failures disable and tell the Coordinator, staff replay.

SSRF: every socket connect is watched; a connect anywhere but loopback fails the test, and
the tests that name internal targets check that nothing was sent at all.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import uuid
from datetime import date, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select, update
from standardwebhooks import Webhook

from services.notify import create_app
from services.notify.models import Message
from services.notify.webhooks import client, domain, tasks
from services.notify.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.notify.worker import database
from shared.config import load_settings
from shared.db import utcnow
from shared.events import new_event
from tests.factories import (
    COORDINATOR,
    REVIEWER,
    acting,
    alliance_change_event,
    alliance_signed_event,
    signed_in,
    submitted_event,
)
from tests.helpers import queued_tasks, stored_rows
from tests.offline_dns import OfflineResolver
from tests.webhook_receiver import Reply, WebhookReceiver

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


def make_due(delivery_id: uuid.UUID) -> None:
    with database.transaction() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def one_delivery_for(url: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    endpoint_id, secret = register(url)
    consume(an_event())
    [delivery] = deliveries(endpoint_id)
    return endpoint_id, delivery.id, secret


# -- delivery -----------------------------------------------------------------------------------


def test_an_event_reaches_the_receiver_signed_once_per_endpoint(receiver, redis_client):
    endpoint_id, secret = register(receiver.url)
    other_id, _ = register(receiver.url, ["report.overdue"])
    event = an_event()

    consume(event)
    consume(event)  # a redelivered event adds nothing

    [delivery] = deliveries()
    assert delivery.endpoint_id == endpoint_id
    assert deliveries(other_id) == []
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_webhook", {"delivery_id": str(delivery.id)})
    ]
    assert tasks.deliver_webhook(delivery_id=str(delivery.id)) == "delivered"

    [request] = receiver.received
    assert request.path == "/hooks/alliance"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == event["event_id"]
    body = Webhook(secret).verify(request.body, request.headers)
    assert set(body) == {"id", "type", "occurred_at", "data"}
    assert (body["id"], body["type"]) == (event["event_id"], "proposal.submitted")
    assert body["occurred_at"] == event["occurred_at"]
    assert body["data"]["reference"] == event["payload"]["reference"]
    assert "status_url" not in body["data"]  # a signed link stays in the agency
    assert request.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)

    stored = deliveries()[0]
    assert (stored.status, stored.attempts, stored.last_status) == ("delivered", 1, 200)
    [attempt] = attempts(delivery.id)
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")
    assert attempt.response_excerpt == '{"ok": true}'
    assert attempt.duration_ms >= 0
    assert endpoint(endpoint_id).last_success_at is not None
    # Done: a duplicate task sends nothing more.
    assert tasks.deliver_webhook(delivery_id=str(delivery.id)) == "delivered"
    assert len(receiver.received) == 1


def test_a_500_is_retried_on_the_schedule_with_the_same_id(receiver):
    _endpoint_id, delivery_id, secret = one_delivery_for(receiver.url)
    receiver.answer(Reply(500, body=b"x" * 5000))

    before = utcnow()
    outcome = tasks.deliver(delivery_id)
    assert outcome.status == "pending"
    assert outcome.next_attempt_at is not None
    assert timedelta(seconds=4) < outcome.next_attempt_at - before < timedelta(seconds=7)
    [first] = attempts(delivery_id)
    assert (first.status_code, first.error) == (500, "HTTP 500")
    assert first.response_excerpt == "x" * 1024  # the first KB only

    assert tasks.deliver(delivery_id).status == "pending"  # not due yet: nothing sent
    assert len(receiver.received) == 1
    make_due(delivery_id)
    assert tasks.deliver(delivery_id).status == "delivered"
    first_request, second_request = receiver.received
    assert first_request.headers["webhook-id"] == second_request.headers["webhook-id"]
    Webhook(secret).verify(second_request.body, second_request.headers)
    assert [a.status_code for a in attempts(delivery_id)] == [500, 200]


def test_a_receiver_that_stalls_past_the_time_out_is_tried_again(receiver):
    _endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    receiver.answer(Reply(200, stall=3))

    outcome = tasks.deliver(delivery_id)

    assert outcome.status == "pending"
    [attempt] = attempts(delivery_id)
    assert attempt.status_code is None
    assert "timed out waiting for the answer" in attempt.error
    assert 900 <= attempt.duration_ms < 2900
    make_due(delivery_id)
    assert tasks.deliver(delivery_id).status == "delivered"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("999999", timedelta(hours=1)),  # capped by WEBHOOK_MAX_RETRY_AFTER_SECONDS
        ("2", timedelta(seconds=5)),  # never sooner than the schedule
        ("http-date", timedelta(minutes=10)),
    ],
)
def test_retry_after_is_honoured_and_capped(receiver, header, expected):
    _endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    if header == "http-date":
        header = format_datetime(utcnow() + timedelta(minutes=10), usegmt=True)
    receiver.answer(Reply(503, headers={"Retry-After": header}))

    before = utcnow()
    outcome = tasks.deliver(delivery_id)

    assert outcome.status == "pending"
    assert outcome.next_attempt_at is not None
    assert abs(outcome.next_attempt_at - before - expected) < timedelta(seconds=3)


def test_a_redirect_is_a_failure_and_never_followed(receiver, guard):
    _endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    receiver.answer(Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}))

    assert tasks.deliver(delivery_id).status == "pending"

    assert len(receiver.received) == 1
    assert [address[0] for address in guard.connects] == ["127.0.0.1"]
    [attempt] = attempts(delivery_id)
    assert attempt.status_code == 302
    assert "redirect, not followed" in attempt.error


def test_410_gone_disables_the_endpoint_and_tells_the_coordinator(receiver, redis_client):
    endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    consume(an_event())
    waiting = [d.id for d in deliveries(endpoint_id) if d.id != delivery_id]
    receiver.answer(Reply(410))

    assert tasks.deliver(delivery_id).status == "failed"

    gone = endpoint(endpoint_id)
    assert not gone.enabled
    assert "410 Gone" in gone.disabled_reason
    with database.transaction() as session:
        [alert] = session.scalars(select(Message).where(Message.template == "webhook_disabled"))
        assert alert.to_address == "coordinator@agency.example"
        assert alert.subject == f"Action required: a webhook endpoint was disabled ({receiver.url})"
        assert f"/notify/staff/webhooks/{endpoint_id}" in alert.text_body
        alert_id = alert.id
    assert ("notify.deliver_message", {"message_id": str(alert_id)}) in queued_tasks(
        redis_client, "notify"
    )
    # What waits for a disabled endpoint stays: neither sent nor queued by the sweep.
    assert tasks.deliver(waiting[0]).status == "disabled"
    assert len(receiver.received) == 1
    redis_client.delete("notify")
    assert tasks.deliver_webhooks() == 0
    # Enabled again, it goes.
    client = signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), COORDINATOR)
    answer = client.patch(f"/api/v1/webhooks/endpoints/{endpoint_id}", json={"enabled": True})
    assert answer.status_code == 200
    assert answer.get_json()["enabled"] is True
    assert tasks.deliver_webhooks() == 1
    assert tasks.deliver(waiting[0]).status == "delivered"


def test_an_endpoint_failing_for_days_is_disabled_and_the_coordinator_told(receiver):
    endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    with database.transaction() as session:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(failing_since=utcnow() - timedelta(days=3, minutes=1))
        )
    receiver.answer(Reply(500))

    assert tasks.deliver(delivery_id).status == "pending"

    stopped = endpoint(endpoint_id)
    assert not stopped.enabled
    assert stopped.disabled_reason == "Every delivery failed for 3 days."
    with database.transaction() as session:
        assert session.scalars(select(Message.template)).all() == ["webhook_disabled"]


def test_a_success_resets_the_failure_clock_and_a_spent_schedule_fails(receiver):
    endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    receiver.answer(Reply(500))
    tasks.deliver(delivery_id)
    assert endpoint(endpoint_id).failing_since is not None
    make_due(delivery_id)
    tasks.deliver(delivery_id)
    assert endpoint(endpoint_id).failing_since is None

    consume(an_event())
    [later] = [d.id for d in deliveries(endpoint_id) if d.id != delivery_id]
    receiver.answer(*[Reply(500)] * 4)
    statuses = []
    for _ in range(4):  # the schedule has 3 pauses: 4 attempts
        make_due(later)
        statuses.append(tasks.deliver(later).status)
    assert statuses == ["pending", "pending", "pending", "failed"]
    assert endpoint(endpoint_id).enabled  # failing for minutes, not days


def test_the_sweep_queues_what_is_due_and_recovers_a_dead_workers_attempt(redis_client):
    endpoint_id, delivery_id, _secret = one_delivery_for("http://127.0.0.1:9/never")
    redis_client.delete("notify")

    assert tasks.deliver_webhooks() == 1
    assert tasks.deliver_webhooks() == 0  # queued lately: left alone
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_webhook", {"delivery_id": str(delivery_id)})
    ]
    with database.transaction() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(status="sending", attempts=1, sending_since=utcnow() - timedelta(hours=1))
        )
    tasks.deliver_webhooks()
    [stalled] = deliveries(endpoint_id)
    assert (stalled.status, stalled.attempts) == ("pending", 1)
    [attempt] = attempts(delivery_id)
    assert "outcome is unknown" in attempt.error


# -- SSRF -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks",
        "https://127.0.0.1:{port}/hooks",
        "https://[::1]:{port}/hooks",
        "https://localhost:{port}/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/hooks",
        "https://100.64.0.1/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[fd00::1]/hooks",
        "http://hooks.example.org/alliance",  # not HTTPS
    ],
)
def test_registration_refuses_internal_targets(monkeypatch, receiver, url):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    client = signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), COORDINATOR)

    answer = client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": url.format(port=receiver.port), "event_types": ["proposal.submitted"]},
    )

    assert answer.status_code == 422
    assert list(answer.get_json()["errors"]) == ["url"]


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


# -- the API and the pages -----------------------------------------------------------------------


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def test_the_coordinator_registers_rotates_disables_and_deletes_through_the_api(app):
    client = signed_in(app, COORDINATOR)
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


def test_only_the_coordinator_manages_webhooks(app):
    endpoint_id, _secret = register("https://hooks.example.org/alliance")
    reviewer = signed_in(app, REVIEWER)
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
    assert app.test_client().get("/api/v1/webhooks/endpoints").status_code == 401
    with database.transaction() as session, pytest.raises(Exception, match="Coordinator"):
        domain.list_endpoints(session, REVIEWER)


def test_staff_see_deliveries_and_replay_one(app, receiver, redis_client):
    endpoint_id, delivery_id, secret = one_delivery_for(receiver.url)
    tasks.deliver(delivery_id)
    redis_client.delete("notify")
    client = signed_in(app, COORDINATOR)

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


def test_the_pages_register_an_endpoint_and_show_its_secret_once(app):
    client = signed_in(app, COORDINATOR)
    assert client.get("/staff/webhooks").status_code == 200

    refused = client.post(
        "/staff/webhooks",
        data={"url": "https://169.254.169.254/", "event_types": ["proposal.submitted"]},
    )
    assert refused.status_code == 422
    assert "The URL must point to a public address" in refused.get_data(as_text=True)

    made = client.post(
        "/staff/webhooks",
        data={
            "url": "https://hooks.example.org/alliance",
            "description": "Partner portal",
            "event_types": ["proposal.submitted", "alliance.signed"],
        },
    )
    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    page = made.get_data(as_text=True)
    [secret] = [word for word in page.split('"') if word.startswith("whsec_")]
    [stored] = list_all_endpoints()
    shown = client.get(f"/staff/webhooks/{stored.id}").get_data(as_text=True)
    assert "https://hooks.example.org/alliance" in shown
    assert secret not in shown
    assert secret not in client.get("/staff/webhooks").get_data(as_text=True)

    rotated = client.post(f"/staff/webhooks/{stored.id}", data={"action": "rotate"})
    assert "whsec_" in rotated.get_data(as_text=True)
    assert secret not in rotated.get_data(as_text=True)
    disabled = client.post(f"/staff/webhooks/{stored.id}", data={"action": "disable"})
    assert disabled.status_code == 303
    assert not endpoint(stored.id).enabled


def list_all_endpoints() -> list[WebhookEndpoint]:
    with database.transaction() as session:
        found = list(session.scalars(select(WebhookEndpoint)))
        session.expunge_all()
        return found


def test_an_attempt_whose_endpoint_was_deleted_meanwhile_is_dropped(receiver):
    endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    with database.transaction() as session:
        claimed = domain.claim(session, delivery_id=delivery_id, now=utcnow())
        assert claimed is not None
    with database.transaction() as session:
        domain.delete_endpoint(session, COORDINATOR, endpoint_id)

    with database.transaction() as session:
        outcome = domain.record_attempt(
            session,
            claimed=claimed,
            answer=client.Answer(200, None, "", "", 5),
            started_at=utcnow(),
            now=utcnow(),
            context=tasks._context(),
        )

    assert outcome.status == "gone"
    assert deliveries() == []


def test_the_message_log_of_a_reference_lists_its_webhook_deliveries_for_the_coordinator(
    app, receiver, redis_client
):
    endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    tasks.deliver(delivery_id)
    [delivery] = deliveries(endpoint_id)
    assert delivery.reference.startswith("AP-")
    reference = delivery.reference
    with database.transaction() as session:  # the receipt, naming the organization
        session.add(
            Message(
                cause=f"test:{uuid.uuid4()}",
                template="proposal_receipt",
                to_address="dana@example.org",
                subject=f"We received your Alliance proposal {reference}",
                text_body="Thank you.",
                html_body="<p>Thank you.</p>",
                reference=reference,
                organization_key="michigan roofing contractors association",
                status="sent",
            )
        )

    page = signed_in(app, COORDINATOR).get(f"/staff/log?reference={reference}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"Webhook deliveries about {reference}" in html
    assert f'href="/staff/webhooks/deliveries/{delivery_id}"' in html
    assert "Delivered" in html
    assert "HTTP 200" in html
    reviewer_page = signed_in(app, REVIEWER).get(f"/staff/log?reference={reference}")
    assert "Webhook deliveries" not in reviewer_page.get_data(as_text=True)
    with database.transaction() as session:
        assert domain.deliveries_about(session, COORDINATOR, reference="AP-0000-0") == []
        in_conflict = acting(
            COORDINATOR.email, "coordinator", conflicts=["Michigan Roofing Contractors Association"]
        )
        assert domain.deliveries_about(session, in_conflict, reference=reference) == []
        assert [
            d.id for d, _e in domain.deliveries_about(session, COORDINATOR, reference=reference)
        ] == [delivery_id]


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
PUBLIC_ONLY = "The URL must point to a public address, not an internal one: "
HELP = "WEBHOOK_ALLOWED_HOSTS"


def stored_urls() -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(select(WebhookEndpoint.url)))


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_the_api_refuses_an_internal_host_however_written(monkeypatch, app, host):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    client = signed_in(app, COORDINATOR)

    answer = client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": f"https://{host}/hooks", "event_types": ["proposal.submitted"]},
    )

    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    assert list(errors) == ["url"]
    assert errors["url"][0].startswith(PUBLIC_ONLY)
    assert stored_urls() == []


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_the_page_refuses_an_internal_host_however_written_inline(monkeypatch, app, host):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    client = signed_in(app, COORDINATOR)

    answer = client.post(
        "/staff/webhooks",
        data={"url": f"https://{host}/hooks", "event_types": ["proposal.submitted"]},
    )

    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    field_error = page.partition('<span class="usa-error-message" id="url-error">')[2]
    assert field_error.startswith(PUBLIC_ONLY)
    assert 'aria-invalid="true"' in page.partition('id="url"')[2].partition(">")[0]
    assert HELP in page  # how an operator lets a local receiver through
    assert stored_urls() == []


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
    monkeypatch, app, guard, url, reached
):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    staff = signed_in(app, COORDINATOR)

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
    monkeypatch, app, names
):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    client = signed_in(app, COORDINATOR)
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


def test_a_changed_url_is_checked_again_and_an_unchanged_one_is_not_looked_up(
    monkeypatch, app, names
):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    endpoint_id, _secret = register("https://hooks.example.org/alliance")
    client = signed_in(app, COORDINATOR)

    moved = client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint_id}", json={"url": "https://127.1/"}
    )
    assert moved.status_code == 422
    assert moved.get_json()["errors"]["url"][0].startswith(PUBLIC_ONLY)
    page = client.post(
        f"/staff/webhooks/{endpoint_id}",
        data={"url": "https://0x7f000001/", "event_types": ["proposal.submitted"]},
    )
    assert page.status_code == 422
    assert PUBLIC_ONLY + "0x7f000001 is 127.0.0.1, a loopback address." in page.get_data(
        as_text=True
    )
    assert stored_urls() == ["https://hooks.example.org/alliance"]

    del names["hooks.example.org"]  # its DNS is down: a description change does not wait on it
    renamed = client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint_id}", json={"description": "Renamed"}
    )
    assert renamed.status_code == 200
    saved = client.post(
        f"/staff/webhooks/{endpoint_id}",
        data={
            "url": "https://hooks.example.org/alliance",
            "description": "Renamed again",
            "event_types": ["proposal.submitted"],
        },
    )
    assert saved.status_code == 303


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
    monkeypatch, app, receiver, guard, names, allowed, url
):
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", allowed)
    names["localhost"] = ["127.0.0.1"]  # the receiver listens on IPv4
    url = url.format(port=receiver.port)
    client = signed_in(app, COORDINATOR)

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


def test_the_registration_page_says_how_to_allow_a_local_receiver(app):
    page = signed_in(app, COORDINATOR).get("/staff/webhooks").get_data(as_text=True)
    help_text = page.partition("Register an endpoint")[2]
    assert "WEBHOOK_ALLOWED_HOSTS=127.0.0.1" in help_text
    assert "never in production" in help_text


# -- the review outcome of a report and the alliance's renewal or end ----------------

REVISE_LINK = "https://agency.example/reporting/reports/revise?token=signed-secret"
REVIEW_AND_CHANGE_TYPES = {
    "report.accepted": "A report was accepted",
    "report.revision_requested": "A revision of a report was requested",
    "alliance.renewed": "An alliance was renewed for a new term",
    "alliance.concluded": "An alliance was concluded",
    "alliance.terminated": "An alliance was terminated with 30 days' notice",
}


def reviewed_or_changed_event(event_type: str) -> dict[str, Any]:
    """The event as reporting (a report's review) or review (the alliance's change) sends it."""
    if event_type.startswith("report."):
        revision = event_type == "report.revision_requested"
        return new_event(
            event_type,
            producer="reporting",
            payload={
                "report_id": uuid.uuid4(),
                "alliance_id": uuid.uuid4(),
                "proposal_id": uuid.uuid4(),
                "reference": "AP-2026-00042",
                "partner_name": "Roofers United",
                "contact": {"name": "Dana Smith", "email": "dana@example.org"},
                "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
                "kind": "quarterly",
                "term": 0,
                "period_start": date(2026, 4, 1),
                "period_end": date(2026, 6, 30),
                "version": 1,
                "comments": "Add the training rows." if revision else "",
                "due_date": date(2026, 8, 17) if revision else date(2026, 7, 30),
                "report_url": REVISE_LINK if revision else "",
                "reviewed_by": "lee@agency.example",
                "reviewed_at": utcnow(),
            },
        ).to_message()
    signed = alliance_signed_event(signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14))
    fields: dict[str, dict[str, Any]] = {
        "alliance.renewed": {
            "renewal": 1,
            "signing_date": date(2028, 1, 15),
            "term_years": 2,
            "ends_on": date(2030, 1, 14),
            "previous_ends_on": date(2028, 1, 14),
        },
        "alliance.concluded": {"concluded_on": date(2027, 6, 30)},
        "alliance.terminated": {
            "notice_date": date(2027, 6, 1),
            "effective_on": date(2027, 7, 1),
        },
    }
    return alliance_change_event(signed, event_type, **fields[event_type]).to_message()


@pytest.mark.parametrize("event_type", list(REVIEW_AND_CHANGE_TYPES))
def test_a_report_review_or_an_alliance_change_reaches_its_subscribers_once_signed(
    receiver, event_type
):
    endpoint_id, secret = register(receiver.url, [event_type])
    others = [t for t in REVIEW_AND_CHANGE_TYPES if t != event_type]
    elsewhere_id, _ = register(receiver.url, ["proposal.submitted", "alliance.signed", *others])
    event = reviewed_or_changed_event(event_type)

    consume(event)
    consume(event)  # a redelivered event adds nothing

    [delivery] = deliveries()
    assert delivery.endpoint_id == endpoint_id
    assert deliveries(elsewhere_id) == []  # not subscribed to this type: nothing
    assert tasks.deliver_webhook(delivery_id=str(delivery.id)) == "delivered"

    [request] = receiver.received
    assert request.headers["webhook-id"] == event["event_id"]
    body = Webhook(secret).verify(request.body, request.headers)
    assert (body["id"], body["type"]) == (event["event_id"], event_type)
    assert body["data"]["reference"] == event["payload"]["reference"]
    assert body["data"]["alliance_id"] == event["payload"]["alliance_id"]
    assert [key for key in body["data"] if key.endswith("_url")] == []
    assert "signed-secret" not in request.body.decode("utf-8")
    assert set(body["data"]) == set(event["payload"]) - {"report_url"}


def test_no_endpoint_subscribed_means_no_delivery_of_a_review_or_an_alliance_change():
    register("https://hooks.example.org/alliance", ["proposal.submitted", "report.submitted"])
    for event_type in REVIEW_AND_CHANGE_TYPES:
        consume(reviewed_or_changed_event(event_type))
    assert deliveries() == []


def test_the_pages_and_the_api_offer_the_review_and_alliance_change_events_by_label(app):
    client = signed_in(app, COORDINATOR)
    page = client.get("/staff/webhooks").get_data(as_text=True)
    for event_type, label in REVIEW_AND_CHANGE_TYPES.items():
        assert f'value="{event_type}"' in page
        assert escape(label) in page

    made = client.post(
        "/staff/webhooks",
        data={"url": "https://hooks.example.org/page", "event_types": ["report.accepted"]},
    )
    assert made.status_code == 201
    listed = client.get("/staff/webhooks").get_data(as_text=True)
    assert "report.accepted" in listed

    api = client.post(
        "/api/v1/webhooks/endpoints",
        json={
            "url": "https://hooks.example.org/api",
            "event_types": list(reversed(REVIEW_AND_CHANGE_TYPES)),
        },
    )
    assert api.status_code == 201
    assert api.get_json()["event_types"] == [
        "alliance.renewed",
        "alliance.concluded",
        "alliance.terminated",
        "report.accepted",
        "report.revision_requested",
    ]
