"""Webhooks' tasks (thin: the rules are in domain.py): the consumers that record one delivery
per subscribed endpoint, the attempt, and beat's sweep of what is due.

An attempt commits twice on purpose, like an e-mail's: ``sending`` before the POST, the
outcome right after it; no transaction stays open while an endpoint answers.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from services.notify.tasks import deliver_message
from services.notify.webhooks import client, domain, signing
from services.notify.webhooks.config import webhook_settings
from services.notify.worker import celery, database
from shared.config import load_agency_profile, load_settings
from shared.db import after_commit, utcnow
from shared.events import Event
from shared.tasks import ServiceTask, event_consumer

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
# The sweep leaves a delivery it queued this long before queuing it again.
REQUEUE_AFTER_SECONDS = 300


def deliver_after_commit(session: Session, delivery_ids: list[uuid.UUID]) -> None:
    for delivery_id in delivery_ids:
        after_commit(session, partial(_nudge, delivery_id))


def _nudge(delivery_id: uuid.UUID) -> None:
    _enqueue(delivery_id)


def _record(event: Event, *, session: Session) -> None:
    created = domain.record_deliveries(session, event=event, now=utcnow())
    deliver_after_commit(session, created)


# One consumer per event type an endpoint may receive (shared/events.py SUBSCRIPTIONS).
CONSUMERS = {
    event_type: event_consumer(
        celery, name=f"notify.webhooks_{event_type.replace('.', '_')}", event_type=event_type
    )(_record)
    for event_type in domain.EVENT_TYPES
}


def _context() -> domain.Context:
    return domain.Context(
        webhooks=webhook_settings(), settings=load_settings(), profile=load_agency_profile()
    )


def _alert(message_ids: tuple[uuid.UUID, ...] | list[uuid.UUID]) -> None:
    for message_id in message_ids:
        try:
            deliver_message.delay(message_id=str(message_id))
        except Exception:
            log.warning("could not queue message %s; notify's sweep will", message_id)


def deliver(delivery_id: uuid.UUID) -> domain.Outcome:
    """One attempt at one delivery, if it is due."""
    context = _context()
    with database.transaction() as session:
        claimed = domain.claim(session, delivery_id=delivery_id, now=utcnow())
        if claimed is None:
            state = domain.delivery_state(session, delivery_id=delivery_id, now=utcnow())
            return domain.Outcome(status=state)
    started_at = utcnow()
    try:
        keys = context.webhooks
        secret = signing.unseal(
            claimed.sealed_secret, key=keys.secrets_key, fallbacks=keys.secrets_key_fallbacks
        )
    except signing.SecretUnreadable as err:
        answer = client.Answer(None, None, "", str(err), 0)
    else:
        headers = signing.signature_headers(
            secret=secret, message_id=claimed.message_id, body=claimed.body, timestamp=started_at
        )
        answer = client.post(
            claimed.url,
            body=claimed.body.encode("utf-8"),
            headers={"Content-Type": "application/json", **headers},
            allowed_hosts=context.webhooks.allowed_hosts,
            connect_timeout=context.webhooks.connect_timeout,
            read_timeout=context.webhooks.read_timeout,
        )
    with database.transaction() as session:
        outcome = domain.record_attempt(
            session,
            claimed=claimed,
            answer=answer,
            started_at=started_at,
            now=utcnow(),
            context=context,
        )
    log.info(
        "webhook delivery %s attempt %d: %s (%s)",
        delivery_id,
        claimed.attempt,
        outcome.status,
        answer.status or answer.error,
    )
    _alert(outcome.follow_up)
    return outcome


@celery.task(name="notify.deliver_webhook", base=ServiceTask, shared=False)
def deliver_webhook(*, delivery_id: str) -> str:
    """Attempt a delivery if it is due; duplicates find it busy, done or not due. A retry
    waits in the database (``next_attempt_at``) for the sweep, never in a countdown."""
    return deliver(uuid.UUID(delivery_id)).status


def _enqueue(delivery_id: uuid.UUID, **options: Any) -> bool:
    try:
        deliver_webhook.apply_async(kwargs={"delivery_id": str(delivery_id)}, **options)
    except Exception:
        log.warning("could not queue webhook delivery %s; the sweep will", delivery_id)
        return False
    return True


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
        if not _enqueue(delivery_id):
            with database.transaction() as session:
                domain.forget_queued(session, delivery_ids=ids[queued:])
            break
        queued += 1
    if ids:
        log.info("queued %d of %d due webhook deliveries", queued, len(ids))
    return queued
