"""A consumer whose database is away retries with the backoff ServiceTask declares: drawn at
random up to 2**n seconds before attempt n + 1 (full jitter), never more than 5 minutes."""

import pytest
from celery.exceptions import Retry
from sqlalchemy import func, select

from deploy.embedded import free_port
from services.notify.models import Message
from services.notify.models import ProcessedEvent as NotifyProcessed
from services.notify.models import RejectedEvent as NotifyRejected
from services.notify.tasks import proposal_submitted as notify_proposal_submitted
from services.notify.worker import database as notify_db
from services.review.tasks import proposal_submitted
from services.review.worker import database
from shared.tasks import ServiceTask
from tests.intake.factories import submitted_event

pytestmark = pytest.mark.integration


@pytest.fixture
def review_database_down():
    url = database.url
    database.configure(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/apm_gone")
    yield
    database.configure(url)


def pauses_after(failed_attempts: int, runs: int) -> list[float]:
    """The pause the consumer asks for before its next attempt, over ``runs`` runs in which its
    database is away, each after ``failed_attempts`` attempts failed already."""
    message = submitted_event().to_message()
    pauses = []
    for _ in range(runs):
        # The task body as a worker runs it on a redelivery after ``failed_attempts``
        # failures; an eager request's retry is raised here instead of going to the broker.
        proposal_submitted.push_request(
            retries=failed_attempts, is_eager=True, called_directly=False
        )
        try:
            with pytest.raises(Retry) as retry:
                proposal_submitted.run(event=message)
        finally:
            proposal_submitted.pop_request()
        pauses.append(float(retry.value.when))
    return pauses


def test_a_consumer_retries_after_a_random_pause_up_to_its_exponential_backoff(
    review_database_down,
):
    pauses = pauses_after(failed_attempts=6, runs=40)
    assert all(0 <= pause <= 2**6 for pause in pauses)
    assert len(set(pauses)) > 1  # jittered: consumers that failed together spread out


def test_a_consumer_never_waits_longer_than_the_declared_maximum(review_database_down):
    assert ServiceTask.retry_backoff_max == 300
    pauses = pauses_after(failed_attempts=20, runs=40)
    assert all(0 <= pause <= 300 for pause in pauses)
    assert max(pauses) > 2**6  # the cap, not a smaller pause, bounds a long outage


def rows(database, model):
    with database.transaction() as session:
        return list(session.scalars(select(model)))


@pytest.mark.usefixtures("clean_databases")
def test_handler_failure_is_kept_for_inspection(redis_client, monkeypatch):
    from services.notify.messages import domain as notify_messages

    def broken(*args, **kwargs):
        raise KeyError("template variable")

    monkeypatch.setattr(notify_messages, "proposal_received", broken)
    message = submitted_event().to_message()

    notify_proposal_submitted(event=message)

    rejected = rows(notify_db, NotifyRejected)
    assert [(r.reason, r.event_id) for r in rejected] == [("failed", message["event_id"])]
    assert "KeyError" in rejected[0].detail
    # Its effect and its inbox row rolled back together: a replay will run it again.
    assert rows(notify_db, NotifyProcessed) == []
    with notify_db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
