"""Webhooks' tasks (thin: the rules are in domain.py): the consumers that record one delivery
per subscribed endpoint, the attempt (attempts.py), and beat's sweep of what is due."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from services.notify.delivery import queue
from services.notify.delivery.domain import Outcome
from services.notify.webhooks import attempts, domain
from services.notify.worker import celery, database
from shared.config import load_agency_profile, load_settings
from shared.db import utcnow
from shared.events import Event, webhook_consumer
from shared.tasks import ServiceTask, event_consumer

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
# The sweep leaves a delivery it queued this long before queuing it again.
REQUEUE_AFTER_SECONDS = 300


def _record(event: Event, *, session: Session) -> None:
    created = domain.record_deliveries(session, event=event, now=utcnow())
    queue.deliver_webhooks_after_commit(session, created)


# One consumer per event type an endpoint may receive (shared/events.py SUBSCRIPTIONS).
CONSUMERS = {
    event_type: event_consumer(celery, name=webhook_consumer(event_type), event_type=event_type)(
        _record
    )
    for event_type in domain.EVENT_TYPES
}


def _context() -> domain.Context:
    return domain.Context(settings=load_settings(), profile=load_agency_profile())


def _alert(message_ids: tuple[uuid.UUID, ...] | list[uuid.UUID]) -> None:
    for message_id in message_ids:
        queue.queue_message(message_id)


def deliver(delivery_id: uuid.UUID) -> Outcome:
    """One attempt at one delivery, if it is due (webhooks/attempts.py); the Coordinator's
    alerts it leaves are queued."""
    outcome = attempts.deliver(delivery_id, database=database, context=_context())
    _alert(outcome.follow_up)
    return outcome


@celery.task(name=queue.DELIVER_WEBHOOK, base=ServiceTask, shared=False)
def deliver_webhook(*, delivery_id: str) -> str:
    """Attempt a delivery if it is due; duplicates find it busy, done or not due. A retry
    waits in the database (``next_attempt_at``) for the sweep, never in a countdown."""
    return deliver(uuid.UUID(delivery_id)).status


@celery.task(name="notify.deliver_webhooks", base=ServiceTask, acks_late=False, shared=False)
def deliver_webhooks() -> int:
    """Beat's sweep: deliveries whose worker died mid-attempt are due again (recorded), then
    the due deliveries of enabled endpoints are queued."""
    context = _context()
    with database.transaction() as session:
        alerts = domain.recover_stalled(session, now=utcnow(), context=context)
    _alert(alerts)
    with database.transaction() as session:
        ids = domain.queue_due(
            session,
            now=utcnow(),
            requeue_after=timedelta(seconds=REQUEUE_AFTER_SECONDS),
            limit=SWEEP_BATCH,
        )
    queued = 0
    for delivery_id in ids:
        if not queue.queue_webhook(delivery_id):
            with database.transaction() as session:
                domain.forget_queued(session, delivery_ids=ids[queued:])
            break
        queued += 1
    if ids:
        log.info("queued %d of %d due webhook deliveries", queued, len(ids))
    return queued
