"""What an operator does with a producer's outbox and a consumer's rejected events
(shared/outbox.py ``outbox_state``, ``replay``; shared/inbox.py ``rejected_events``,
``requeue_rejected``), on a rolled-back session."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.intake.models import OutboxEvent
from services.notify.models import RejectedEvent
from shared.db import utcnow
from shared.inbox import rejected_events, requeue_rejected
from shared.outbox import outbox_state, replay
from tests.intake.factories import submitted_event

pytestmark = pytest.mark.integration


def stored(session, *, published_minutes_ago: int | None, error: str | None = None) -> OutboxEvent:
    message = submitted_event().to_message()
    now = utcnow()
    row = OutboxEvent(
        event_id=uuid.UUID(message["event_id"]),
        type=message["type"],
        version=1,
        message=message,
        created_at=now - timedelta(minutes=(published_minutes_ago or 0) + 5),
        published_at=(
            now - timedelta(minutes=published_minutes_ago)
            if published_minutes_ago is not None
            else None
        ),
        republish_at=now + timedelta(minutes=5) if published_minutes_ago is not None else None,
        attempts=1,
        publications=1 if published_minutes_ago is not None else 0,
        last_error=error,
    )
    session.add(row)
    session.flush()
    return row


def test_replay_makes_published_events_pending_and_leaves_pending_ones_as_they_are(rolled_back):
    session = rolled_back("intake")
    old = stored(session, published_minutes_ago=180)
    recent = stored(session, published_minutes_ago=10)
    failing = stored(session, published_minutes_ago=None, error="ConnectionError: refused")

    assert replay(session, OutboxEvent).ids == []  # nothing asked, nothing done
    done = replay(session, OutboxEvent, published_since=utcnow() - timedelta(hours=1))
    assert (done.again, done.waiting) == ([recent.id], [])
    assert (recent.published_at, recent.republish_at, recent.publications) == (None, None, 1)
    assert old.published_at is not None

    done = replay(session, OutboxEvent, failed=True, event_id=old.event_id)
    assert (done.again, done.waiting) == ([old.id], [failing.id])
    assert failing.last_error == "ConnectionError: refused"  # kept until the next attempt

    state = outbox_state(session, OutboxEvent, limit=2)
    assert (state.pending, state.failed, state.published) == (3, 1, 0)
    assert state.oldest_pending_at == old.created_at
    assert [row.id for row in state.waiting] == [old.id, recent.id]


def rejected(session, consumer: str, event_id: str | None, body: object) -> RejectedEvent:
    row = RejectedEvent(
        consumer=consumer, event_id=event_id, reason="failed", body=body, errors={}, detail=""
    )
    session.add(row)
    session.flush()
    return row


def test_requeue_sends_each_event_once_per_consumer_and_removes_its_rows(rolled_back):
    session = rolled_back("notify")
    event = submitted_event().to_message()
    first = rejected(session, "notify.proposal_submitted", event["event_id"], event)
    again = rejected(session, "notify.proposal_submitted", event["event_id"], event)
    webhooks = rejected(session, "notify.webhooks_proposal_submitted", event["event_id"], event)
    malformed = rejected(session, "notify.proposal_submitted", None, "not an event")
    sent: list[tuple[str, object]] = []

    done = requeue_rejected(
        session,
        RejectedEvent,
        send=lambda consumer, body: sent.append((consumer, body)),
        event_id=event["event_id"],
    )
    assert sent == [
        ("notify.proposal_submitted", event),
        ("notify.webhooks_proposal_submitted", event),
    ]
    assert [(d.consumer, d.rows) for d in done] == [
        ("notify.proposal_submitted", [first.id, again.id]),
        ("notify.webhooks_proposal_submitted", [webhooks.id]),
    ]
    assert rejected_events(session, RejectedEvent) == (1, [malformed])


def test_a_send_that_fails_leaves_every_row_to_the_callers_rollback(rolled_back):
    session = rolled_back("notify")
    event = submitted_event().to_message()
    rejected(session, "notify.proposal_submitted", event["event_id"], event)

    def broker_away(consumer: str, body: object) -> None:
        raise ConnectionError("the broker is away")

    with pytest.raises(ConnectionError):
        requeue_rejected(session, RejectedEvent, send=broker_away)
    assert session.scalar(select(func.count()).select_from(RejectedEvent)) == 1
