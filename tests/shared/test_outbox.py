import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from services.intake.models import OutboxEvent
from services.intake.worker import database, outbox
from shared.celery_app import create_celery
from shared.outbox import Outbox
from tests.helpers import queued_tasks, wait_until
from tests.intake.factories import submitted_event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


def count_rows(model) -> int | None:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_event_is_published_to_every_subscriber_after_commit(redis_client):
    event = submitted_event()
    with database.transaction() as session:
        outbox.add(session, event)
        # Nothing goes out before the commit.
        assert redis_client.llen("review") == 0

    assert queued_tasks(redis_client, "review") == [
        ("review.proposal_submitted", {"event": event.to_message()})
    ]
    assert queued_tasks(redis_client, "notify") == [
        ("notify.proposal_submitted", {"event": event.to_message()}),
        ("notify.webhooks_proposal_submitted", {"event": event.to_message()}),
    ]
    with database.transaction() as session:
        row = session.scalars(select(OutboxEvent)).one()
        assert row.published_at is not None
        assert row.attempts == 1


def test_rolled_back_change_leaves_no_event(redis_client):
    def change_that_fails() -> None:
        with database.transaction() as session:
            outbox.add(session, submitted_event())
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert count_rows(OutboxEvent) == 0
    assert redis_client.llen("review") == 0


def test_event_stays_pending_while_the_broker_is_down_and_the_relay_sends_it(redis_client):
    from deploy.embedded import free_port

    dead_broker = create_celery("intake")
    dead_broker.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    dead_broker.conf.broker_transport_options = {"socket_connect_timeout": 0.5}
    dead_broker.conf.broker_connection_timeout = 0.5
    offline = Outbox(
        model=OutboxEvent, database=database, celery_app=dead_broker, producer="intake"
    )
    event = submitted_event()

    with database.transaction() as session:
        offline.add(session, event)  # the nudge fails after commit; the row is kept

    def attempted() -> OutboxEvent | None:
        with database.transaction() as session:
            row = session.scalars(select(OutboxEvent)).one()
            session.expunge(row)
        return row if row.attempts else None

    # The nudge may finish failing in the background.
    row = wait_until(attempted, timeout=10, interval=0.1, what="the failed nudge recorded")
    assert row.published_at is None
    assert row.attempts == 1
    assert row.last_error
    assert redis_client.llen("review") == 0

    assert outbox.publish_pending() == 1  # the relay, with the broker back

    assert [name for name, _ in queued_tasks(redis_client, "review")] == [
        "review.proposal_submitted"
    ]
    assert outbox.publish_pending() == 0


def test_relay_skips_rows_another_publisher_holds(redis_client):
    with database.transaction() as session:
        session.add(
            OutboxEvent(
                event_id=uuid.uuid4(),
                type="proposal.submitted",
                version=1,
                message=submitted_event().to_message(),
            )
        )
    with database.engine.connect() as other:
        other.execute(text("BEGIN"))
        other.execute(text("SELECT id FROM outbox_events FOR UPDATE"))
        assert outbox.publish_pending() == 0  # locked elsewhere: skipped, not waited for
        other.execute(text("ROLLBACK"))
    assert outbox.publish_pending() == 1


def test_every_event_goes_out_once_more_later_then_never_again(redis_client, monkeypatch):
    # Redis can lose a task a worker popped and had not yet recorded (kill -9 in between);
    # the relay sends each event a second time a while later, and consumers ignore repeats.
    monkeypatch.setenv("OUTBOX_REPUBLISH_SECONDS", "600")
    event = submitted_event()
    with database.transaction() as session:
        outbox.add(session, event)
    assert outbox.wait_until_published()  # soon after the commit
    with database.transaction() as session:
        row = session.scalars(select(OutboxEvent)).one()
    assert row.publications == 1
    assert (row.republish_at - row.published_at).total_seconds() == 600
    assert outbox.publish_pending() == 0  # not yet
    redis_client.delete("review", "notify")

    with database.transaction() as session:
        session.scalars(select(OutboxEvent)).one().republish_at = datetime.now(UTC)
    assert outbox.publish_pending() == 1

    assert queued_tasks(redis_client, "review") == [
        ("review.proposal_submitted", {"event": event.to_message()})
    ]
    with database.transaction() as session:
        again = session.scalars(select(OutboxEvent)).one()
    assert (again.publications, again.republish_at) == (2, None)
    assert again.published_at == row.published_at  # the first publication's time is kept
    assert outbox.publish_pending() == 0


def test_a_commit_returns_before_the_publishing_and_the_event_follows_soon(
    redis_client, monkeypatch
):
    # A web request never waits on the broker: the publishing thread sends after the commit.
    slow = Outbox(
        model=OutboxEvent, database=database, celery_app=outbox.celery_app, producer="intake"
    )
    sending = slow._send

    def slow_send(*args, **kwargs):
        time.sleep(0.5)
        sending(*args, **kwargs)

    monkeypatch.setattr(slow, "_send", slow_send)
    started = time.monotonic()
    with database.transaction() as session:
        slow.add(session, submitted_event())
    assert time.monotonic() - started < 0.3

    assert slow.wait_until_published(timeout=10)
    assert [name for name, _ in queued_tasks(redis_client, "review")] == [
        "review.proposal_submitted"
    ]
    with database.transaction() as session:
        assert session.scalars(select(OutboxEvent)).one().published_at is not None


def test_rows_committed_while_a_batch_goes_out_go_out_together(redis_client, monkeypatch):
    held = Outbox(
        model=OutboxEvent, database=database, celery_app=outbox.celery_app, producer="intake"
    )
    release = threading.Event()
    batches: list[list[int]] = []
    publishing = held.publish_pending

    def publish_pending(*, ids=None, limit=200, retry=True):
        batches.append(list(ids or []))
        release.wait(10)
        return publishing(ids=ids, limit=limit, retry=retry)

    monkeypatch.setattr(held, "publish_pending", publish_pending)
    for _ in range(4):
        with database.transaction() as session:
            held.add(session, submitted_event())
    release.set()

    assert held.wait_until_published(timeout=10)
    # The first row went alone (or with what came in before the thread took it); every row
    # committed while it was out went in one second batch, each row once.
    ids = [row_id for batch in batches for row_id in batch]
    assert len(batches) <= 2
    assert len(ids) == len(set(ids)) == 4
    assert len(queued_tasks(redis_client, "review")) == 4
    with database.transaction() as session:
        rows = session.scalars(select(OutboxEvent)).all()
    assert [(row.attempts, row.publications) for row in rows] == [(1, 1)] * 4
    assert all(row.published_at is not None and row.republish_at for row in rows)


def test_while_the_broker_is_known_away_a_commit_tries_nothing(redis_client, monkeypatch):
    away = Outbox(
        model=OutboxEvent, database=database, celery_app=outbox.celery_app, producer="intake"
    )
    monkeypatch.setattr(away, "_broker_away_until", time.monotonic() + 60)
    with database.transaction() as session:
        away.add(session, submitted_event())

    assert away.wait_until_published(timeout=1)
    assert redis_client.llen("review") == 0
    with database.transaction() as session:
        row = session.scalars(select(OutboxEvent)).one()
    assert (row.published_at, row.attempts) == (None, 0)  # the relay's, later
    assert outbox.publish_pending() == 1
