"""One attempt at one webhook delivery, through the steps of the delivery state machine
(services/notify/delivery/domain.py, here by webhooks/domain.py): claim, sign, POST (client.py,
never to an internal address), record.

An attempt commits twice on purpose, like an e-mail's: ``sending`` before the POST, the outcome
right after it; no transaction stays open while an endpoint answers.
"""

from __future__ import annotations

import logging
import uuid

from services.notify.delivery.domain import Outcome
from services.notify.webhooks import client, domain, signing
from shared.db import Database, utcnow

log = logging.getLogger(__name__)


def deliver(delivery_id: uuid.UUID, *, database: Database, context: domain.Context) -> Outcome:
    """One attempt at one delivery, if it is due."""
    with database.transaction() as session:
        claimed = domain.claim(session, delivery_id=delivery_id, now=utcnow())
        if claimed is None:
            state = domain.delivery_state(session, delivery_id=delivery_id, now=utcnow())
            return Outcome(status=state)
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
    return outcome
