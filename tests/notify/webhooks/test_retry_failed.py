"""The webhook deliveries that failed for good, and replaying them (services/notify/webhooks/
domain.py ``failed_deliveries``, ``retry_failed``): the Coordinator's only; a delivery to a
disabled endpoint is left until it is enabled; on a rolled-back session."""

from __future__ import annotations

import uuid

import pytest

from services.notify.webhooks import domain
from services.notify.webhooks.models import WebhookDelivery, WebhookEndpoint
from shared.db import utcnow
from shared.domain import Forbidden
from tests.shared.factories import COORDINATOR, REVIEWER

pytestmark = pytest.mark.integration


def failed_delivery(session, *, enabled: bool) -> WebhookDelivery:
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url="https://hooks.example.org/alliance",
        event_types=["proposal.submitted"],
        sealed_secret="sealed",
        enabled=enabled,
        created_by="cora@agency.example",
    )
    session.add(endpoint)
    session.flush()  # before its delivery: no relationship tells the session the order
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        endpoint_id=endpoint.id,
        event_id=uuid.uuid4(),
        event_type="proposal.submitted",
        body="{}",
        status="failed",
        attempts=6,
        last_error="HTTP 503",
    )
    session.add(delivery)
    session.flush()
    return delivery


def test_the_coordinator_replays_what_failed_for_enabled_endpoints_only(rolled_back):
    session = rolled_back("notify")
    answering, disabled = (failed_delivery(session, enabled=e) for e in (True, False))
    assert [d.id for d, _e in domain.failed_deliveries(session, COORDINATOR)] == [
        answering.id,
        disabled.id,
    ]
    done = domain.retry_failed(session, COORDINATOR, now=utcnow())
    assert (done.replayed, done.endpoint_disabled, done.not_failed) == (
        [answering.id],
        [disabled.id],
        [],
    )
    assert (answering.status, answering.attempts, answering.replay_requested_by) == (
        "pending",
        6,
        COORDINATOR.email,
    )
    again = domain.retry_failed(session, COORDINATOR, delivery_ids=[answering.id], now=utcnow())
    assert again.not_failed == [answering.id]


def test_nobody_else_lists_or_replays(rolled_back):
    session = rolled_back("notify")
    delivery = failed_delivery(session, enabled=True)
    with pytest.raises(Forbidden):
        domain.failed_deliveries(session, REVIEWER)
    with pytest.raises(Forbidden):
        domain.retry_failed(session, REVIEWER, now=utcnow())
    assert delivery.status == "failed"
