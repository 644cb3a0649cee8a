"""What the webhook tests share: builders of endpoints, events, deliveries and attempts on
notify's test database (the network guard is in network.py, the fixtures in conftest.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from services.notify.webhooks import domain, tasks
from services.notify.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.notify.worker import database
from shared.config import load_settings
from shared.db import utcnow
from tests.intake.factories import submitted_event
from tests.shared.factories import COORDINATOR


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
