"""E-mail delivery against real PostgreSQL and a real (in-process) SMTP server: each attempt
counted once, attempts spaced on the schedule, nothing lost and nothing sent twice unseen."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.notify import tasks
from services.notify.models import Message
from services.notify.worker import database
from shared.config import load_settings
from shared.db import utcnow
from tests.helpers import queued_tasks

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]
LEASE = timedelta(seconds=120)


@pytest.fixture(autouse=True)
def short_schedule(monkeypatch):
    """Four attempts, 1 min, 5 min and 1 h apart (the parsed NOTIFY_RETRY_SCHEDULE)."""
    monkeypatch.setenv("NOTIFY_RETRY_SCHEDULE", "1m,5m,1h")
    monkeypatch.setenv("NOTIFY_SENDING_LEASE_SECONDS", str(int(LEASE.total_seconds())))


def a_pending_message(**overrides) -> uuid.UUID:
    values = {
        "cause": f"test:{uuid.uuid4()}",
        "template": "proposal_receipt",
        "to_address": "dana@example.org",
        "subject": "We received your Alliance proposal AP-2026-00007",
        "text_body": "Your reference number is AP-2026-00007.\n",
        "html_body": "<p>Your reference number is <strong>AP-2026-00007</strong>.</p>",
        "reference": "AP-2026-00007",
    }
    values.update(overrides)
    with database.transaction() as session:
        message = Message(**values)
        session.add(message)
        session.flush()
        return message.id


def load(message_id) -> Message:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def change(message_id, **values) -> None:
    with database.transaction() as session:
        session.execute(update(Message).where(Message.id == message_id).values(**values))


def test_the_sweep_queues_only_due_messages_oldest_first(redis_client):
    later = a_pending_message()
    earlier = a_pending_message()
    change(earlier, next_attempt_at=utcnow() - timedelta(minutes=5))
    waiting = a_pending_message()
    change(waiting, next_attempt_at=utcnow() + timedelta(minutes=1))
    sent = a_pending_message()
    change(sent, status="sent")
    held = a_pending_message()
    change(held, status="held")

    assert tasks.deliver_pending() == 2

    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": str(earlier)}),
        ("notify.deliver_message", {"message_id": str(later)}),
    ]


def test_the_sweep_queues_a_message_again_only_after_the_requeue_window(redis_client):
    # Behind a backlog a queued task waits its turn: one copy per sweep would only lengthen
    # the queue (and copies that expired starved the oldest messages).
    message_id = a_pending_message()
    assert tasks.deliver_pending() == 1
    assert tasks.deliver_pending() == 0
    assert len(queued_tasks(redis_client, "notify")) == 1

    change(message_id, queued_until=utcnow() - timedelta(seconds=1))  # the window passed

    assert tasks.deliver_pending() == 1
    assert [kwargs for _, kwargs in queued_tasks(redis_client, "notify")] == [
        {"message_id": str(message_id)},
        {"message_id": str(message_id)},
    ]
    stored = load(message_id)
    window = load_settings().delivery.requeue_after
    assert stored.queued_until - utcnow() > window - timedelta(seconds=5)
