"""A database or broker that is away: a clear 503 that says nothing was stored, never a 500,
and never a request held for seconds by a broker that does not answer."""

import socket
import time

import pytest
from sqlalchemy import func, select

from deploy.embedded import free_port
from services.intake import create_app
from services.intake.models import OutboxEvent, Proposal
from services.intake.worker import database
from shared.celery_app import create_celery
from shared.outbox import NUDGE_WAIT_SECONDS, Outbox
from shared.testing import example_proposal
from tests.factories import submitted_event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def intake_database_down():
    url = database.url
    database.configure(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/apm_gone")
    yield
    database.configure(url)


def proposals_stored() -> int | None:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Proposal))


def test_a_submission_while_the_database_is_down_is_a_503_that_stores_nothing(
    intake_database_down, redis_client
):
    client = create_app({"TESTING": True}).test_client()

    response = client.post("/api/v1/proposals", json=example_proposal())

    assert response.status_code == 503
    # The outage's wait, not the rate limiter's window (which it sets on every response).
    assert response.headers["Retry-After"] == "30"
    [message] = response.json["errors"]["_request"]
    assert "its database cannot be reached" in message
    assert "Nothing you sent was stored" in message


def test_after_the_outage_the_same_submission_is_stored_once(redis_client):
    client = create_app({"TESTING": True}).test_client()
    url = database.url
    database.configure(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/apm_gone")
    try:
        refused = client.post("/api/v1/proposals", json=example_proposal())
    finally:
        database.configure(url)
    assert refused.status_code == 503
    assert proposals_stored() == 0

    accepted = client.post("/api/v1/proposals", json=example_proposal())

    assert accepted.status_code == 201
    assert proposals_stored() == 1


def test_a_page_while_the_database_is_down_is_a_503_page():
    from services.review import create_app as create_review_app
    from services.review.worker import database as review_database

    client = create_review_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    url = review_database.url
    review_database.configure(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/apm_gone")
    try:
        response = client.post(
            "/staff/sign-in",
            data={"email": "someone@agency.example", "password": "a long password here"},
            headers={"Accept": "text/html"},
        )
    finally:
        review_database.configure(url)

    assert response.status_code == 503
    assert response.mimetype == "text/plain"
    assert "Nothing you sent was stored" in response.get_data(as_text=True)


@pytest.fixture
def hanging_broker():
    """A port that accepts connections and never answers: the worst kind of broker outage."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(100)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


def test_a_hanging_broker_never_holds_a_commit_for_seconds(hanging_broker):
    app = create_celery("intake")
    app.conf.broker_url = hanging_broker
    outbox = Outbox(model=OutboxEvent, database=database, celery_app=app, producer="intake")

    timings = []
    for _ in range(3):
        started = time.monotonic()
        with database.transaction() as session:
            outbox.add(session, submitted_event())
        timings.append(time.monotonic() - started)

    # The first waits for the nudge's bounded wait; the next ones see it still busy.
    assert timings[0] < NUDGE_WAIT_SECONDS + 1.0
    assert max(timings[1:]) < 0.3
    with database.transaction() as session:
        pending = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )
    assert pending == 3  # the relay publishes them once the broker answers


def test_a_connection_lost_during_the_commit_says_the_outcome_is_unknown(monkeypatch):
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from shared.db import CommitOutcomeUnknown

    def lost(self):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Session, "commit", lost)
    with pytest.raises(CommitOutcomeUnknown), database.transaction() as session:
        session.execute(select(func.count()).select_from(Proposal))

    client = create_app({"TESTING": True}).test_client()
    response = client.post("/api/v1/proposals", json=example_proposal())

    assert response.status_code == 503
    [message] = response.json["errors"]["_request"]
    assert "it may or may not have been stored" in message
    assert "with the same Idempotency-Key" in message
    assert "Nothing you sent was stored" not in message
