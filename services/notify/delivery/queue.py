"""Queueing delivery attempts on notify's Celery app, by task name: what a domain function
asks for once its transaction commits (``deliver_after_commit``), and what the tasks and the
sweeps queue. The database keeps every due time, so an attempt that could not be queued is
queued by the next sweep."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from services.notify.worker import celery
from shared.db import after_commit

log = logging.getLogger(__name__)

# The tasks that make one attempt (services/notify/tasks.py, services/notify/webhooks/tasks.py).
DELIVER_MESSAGE = "notify.deliver_message"
DELIVER_WEBHOOK = "notify.deliver_webhook"
# What is due, sent over one connection; and the probe of a mail server that is down.
DELIVER_DUE = "notify.deliver_due"
PROBE_MAIL = "notify.probe_mail"


def queue_message(message_id: uuid.UUID, **options: Any) -> bool:
    """Queue an attempt at an e-mail; False (logged) when the broker would not take it."""
    return _queue(DELIVER_MESSAGE, {"message_id": str(message_id)}, options)


def queue_due() -> bool:
    """Queue a task that sends what is due, for a while."""
    return _queue(DELIVER_DUE, {}, {})


def queue_probe(*, countdown: float) -> bool:
    """Queue a probe of the mail server, ``countdown`` seconds on."""
    return _queue(PROBE_MAIL, {}, {"countdown": countdown})


def queue_webhook(delivery_id: uuid.UUID, **options: Any) -> bool:
    """Queue an attempt at a webhook delivery; False (logged) when the broker would not take it."""
    return _queue(DELIVER_WEBHOOK, {"delivery_id": str(delivery_id)}, options)


def _queue(task: str, kwargs: dict[str, str], options: dict[str, Any]) -> bool:
    try:
        celery.send_task(task, kwargs=kwargs, **options)
    except Exception:
        # The database has the due time; the next sweep queues it.
        log.warning("could not queue %s %s; the sweep will", task, kwargs, exc_info=True)
        return False
    return True


def _queued_after_commit(queue: Callable[..., bool], item_id: uuid.UUID, **options: Any) -> None:
    queue(item_id, **options)  # a failure is logged: the sweep queues it


def deliver_after_commit(
    session: Session, message_ids: Iterable[uuid.UUID], *, countdown: float = 0
) -> None:
    """Queue each message's delivery once the transaction commits (``countdown`` seconds on:
    a message due later; the sweep queues it anyway if this is lost)."""
    for message_id in message_ids:
        after_commit(
            session, partial(_queued_after_commit, queue_message, message_id, countdown=countdown)
        )


def deliver_webhooks_after_commit(session: Session, delivery_ids: Iterable[uuid.UUID]) -> None:
    """Queue each webhook delivery's attempt once the transaction commits."""
    for delivery_id in delivery_ids:
        after_commit(session, partial(_queued_after_commit, queue_webhook, delivery_id))
