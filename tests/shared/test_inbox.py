"""The inbox's claim: a consumer records an event once, in its transaction; a repeat, even a
concurrent one, finds it recorded (real PostgreSQL)."""

import threading

import pytest
from sqlalchemy import select

from services.review.models import ProcessedEvent
from services.review.worker import database
from shared.inbox import claim
from tests.intake.factories import submitted_event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

CONSUMER = "review.proposal_submitted"


def test_an_event_is_claimed_once_per_consumer():
    event = submitted_event()
    with database.transaction() as session:
        assert claim(session, ProcessedEvent, consumer=CONSUMER, event=event)
    with database.transaction() as session:
        assert not claim(session, ProcessedEvent, consumer=CONSUMER, event=event)
        # Another consumer of the same event has its own row.
        assert claim(session, ProcessedEvent, consumer="review.other", event=event)
    with database.transaction() as session:
        rows = session.execute(
            select(ProcessedEvent.consumer, ProcessedEvent.event_id, ProcessedEvent.event_type)
        ).all()
        processed_at = session.scalars(select(ProcessedEvent.processed_at)).all()
    assert sorted(rows) == sorted(
        [
            (CONSUMER, event.event_id, "proposal.submitted"),
            ("review.other", event.event_id, "proposal.submitted"),
        ]
    )
    assert all(at.tzinfo is not None for at in processed_at)


def test_a_claim_rolled_back_leaves_the_event_to_claim_again():
    event = submitted_event()
    with database.sessions() as session, session.begin():
        assert claim(session, ProcessedEvent, consumer=CONSUMER, event=event)
        session.rollback()
    with database.transaction() as session:
        assert claim(session, ProcessedEvent, consumer=CONSUMER, event=event)


def test_a_concurrent_duplicate_waits_for_the_first_and_finds_it_claimed():
    event = submitted_event()
    first_claimed = threading.Event()
    results: list[bool] = []

    def duplicate() -> None:
        first_claimed.wait(10)
        with database.transaction() as session:
            results.append(claim(session, ProcessedEvent, consumer=CONSUMER, event=event))

    thread = threading.Thread(target=duplicate)
    thread.start()
    with database.transaction() as session:
        assert claim(session, ProcessedEvent, consumer=CONSUMER, event=event)
        first_claimed.set()
        thread.join(0.5)
        assert thread.is_alive()  # blocked on the first's uncommitted row
    thread.join(10)
    assert results == [False]
