"""``Outbox.add_many``: many events stored with one INSERT in the caller's transaction, all
published after its commit, none when it rolls back (the deadline sweep's way of adding its
reminders), against real PostgreSQL and Redis."""

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from services.intake.models import OutboxEvent
from services.intake.worker import database, outbox
from tests.helpers import queued_tasks, wait_until
from tests.intake.factories import submitted_event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


def stored_rows() -> list[OutboxEvent]:
    with database.transaction() as session:
        rows = list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
        session.expunge_all()
    return rows


def test_many_events_are_stored_together_and_published_after_the_commit(redis_client):
    events = [submitted_event() for _ in range(3)]
    with database.transaction() as session:
        ids = outbox.add_many(session, events)
        assert redis_client.llen("review") == 0  # nothing goes out before the commit
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 3

    rows = stored_rows()
    assert sorted(ids) == ids == [row.id for row in rows]
    assert {(row.event_id, row.type, row.version) for row in rows} == {
        (event.event_id, event.type, event.version) for event in events
    }
    messages = {str(event.event_id): event.to_message() for event in events}
    assert all(row.message == messages[str(row.event_id)] for row in rows)
    assert all(row.created_at is not None for row in rows)

    def all_queued() -> list[tuple[str, dict]]:
        queued = queued_tasks(redis_client, "review")
        return queued if len(queued) == 3 else []

    queued = wait_until(all_queued, timeout=10, interval=0.05, what="the three events queued")
    assert sorted(kwargs["event"]["event_id"] for _task, kwargs in queued) == sorted(messages)
    assert {task for task, _kwargs in queued} == {"review.proposal_submitted"}
    wait_until(
        lambda: all(row.published_at is not None for row in stored_rows()),
        timeout=10,
        interval=0.05,
        what="the rows marked published",
    )


def test_a_rolled_back_transaction_leaves_none_of_them(redis_client):
    def change_that_fails() -> None:
        with database.transaction() as session:
            outbox.add_many(session, [submitted_event(), submitted_event()])
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert stored_rows() == []
    assert redis_client.llen("review") == 0


def test_another_producers_event_is_refused_and_nothing_is_stored():
    foreign = replace(submitted_event(), producer="review")
    with pytest.raises(ValueError, match="cannot publish"), database.transaction() as session:
        outbox.add_many(session, [submitted_event(), foreign])
    assert stored_rows() == []


def test_no_events_add_nothing():
    with database.transaction() as session:
        assert outbox.add_many(session, []) == []
    assert stored_rows() == []
