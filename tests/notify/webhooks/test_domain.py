"""Webhooks end to end against real PostgreSQL, Redis and a real HTTP receiver on loopback
(allowed by WEBHOOK_ALLOWED_HOSTS for these tests): the consumer records one delivery per
(event, endpoint), the attempt is signed after Standard Webhooks (checked with the
``standardwebhooks`` library), retried on the schedule and on Retry-After, 3xx fails and is
never followed, 410 disables, days of failures disable and tell the Coordinator, staff replay.

SSRF: every socket connect is watched; a connect anywhere but loopback fails the test, and
the tests that name internal targets check that nothing was sent at all.

Retry-After and the body's data: pure functions (the address rule is in
tests/notify/webhooks/test_addresses.py, the end-to-end cases above)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from standardwebhooks import Webhook

from services.notify import create_app
from services.notify.models import Message
from services.notify.webhooks import client, domain, tasks
from services.notify.webhooks.domain import EVENT_GROUPS, retry_after, webhook_data
from services.notify.webhooks.models import WebhookDelivery, WebhookEndpoint
from services.notify.worker import database
from shared.db import utcnow
from shared.events import WEBHOOK_EVENT_TYPES, new_event
from tests.helpers import queued_tasks
from tests.notify.webhooks.helpers import (
    an_event,
    attempts,
    consume,
    deliveries,
    endpoint,
    make_due,
    one_delivery_for,
    register,
)
from tests.review.factories import alliance_change_event, alliance_signed_event
from tests.shared.factories import COORDINATOR, signed_in
from tests.webhook_receiver import Reply

# -- delivery -----------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
def test_a_redirect_is_a_failure_and_never_followed(receiver, guard):
    _endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    receiver.answer(Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}))

    assert tasks.deliver(delivery_id).status == "pending"

    assert len(receiver.received) == 1
    assert [address[0] for address in guard.connects] == ["127.0.0.1"]
    [attempt] = attempts(delivery_id)
    assert attempt.status_code == 302
    assert "redirect, not followed" in attempt.error


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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
                "office": "area_lansing",
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("guard", "names", "webhook_env")
def test_no_endpoint_subscribed_means_no_delivery_of_a_review_or_an_alliance_change():
    register("https://hooks.example.org/alliance", ["proposal.submitted", "report.submitted"])
    for event_type in REVIEW_AND_CHANGE_TYPES:
        consume(reviewed_or_changed_event(event_type))
    assert deliveries() == []


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("header", "pause"),
    [
        (None, timedelta(0)),
        ("", timedelta(0)),
        ("120", timedelta(seconds=120)),
        ("99999999999999999999", timedelta(hours=1)),
        ("Tue, 01 Dec 2026 12:10:00 GMT", timedelta(minutes=10)),
        ("Tue, 01 Dec 2026 11:00:00 GMT", timedelta(0)),  # in the past
        ("soon", timedelta(0)),
        ("-5", timedelta(0)),
        ("²", timedelta(0)),  # a digit to str.isdigit, not to int()
        ("١٢٠", timedelta(0)),
    ],
)
def test_retry_after_in_seconds_or_as_a_date_is_capped(header, pause):
    assert retry_after(header, now=NOW, cap=timedelta(hours=1)) == pause


@pytest.mark.unit
def test_signed_links_stay_out_of_the_data():
    payload = {
        "reference": "AP-2026-00001",
        "status_url": "https://apply.example/status?token=x",
        "report_url": "https://apply.example/report?token=y",
        "contact": {"email": "dana@example.org", "resume_url": "z"},
        "reports": [{"id": 1, "form_url": "w"}],
        "website": "https://example.org",
    }
    assert webhook_data(payload) == {
        "reference": "AP-2026-00001",
        "contact": {"email": "dana@example.org"},
        "reports": [{"id": 1}],
        "website": "https://example.org",
    }


@pytest.mark.unit
def test_the_staff_page_labels_every_webhook_event_type_once_and_no_other():
    labelled = [event_type for _group, types in EVENT_GROUPS for event_type, _label in types]
    assert labelled == list(WEBHOOK_EVENT_TYPES)
