import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.review.models import ProcessedEvent, QueuedProposal, RejectedEvent
from services.review.tasks import proposal_submitted as review_proposal_submitted
from services.review.worker import database as review_db
from tests.intake.factories import proposal, submitted_event
from tests.review.factories import staff_member
from tests.shared.factories import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]


def rows(database, model):
    with database.transaction() as session:
        return list(session.scalars(select(model)))


def test_review_stores_a_submitted_proposal_once_however_often_it_arrives(redis_client):
    message = submitted_event().to_message()

    review_proposal_submitted(event=message)
    review_proposal_submitted(event=message)

    queued = rows(review_db, QueuedProposal)
    assert [q.reference for q in queued] == [message["payload"]["reference"]]
    assert queued[0].status == "waiting"
    assert queued[0].state == "MI"
    assert [p.consumer for p in rows(review_db, ProcessedEvent)] == ["review.proposal_submitted"]


def test_newer_version_replaces_older_and_a_late_older_one_changes_nothing(redis_client):
    proposal_id = uuid.uuid4()
    v1 = submitted_event(proposal("First Name"), proposal_id=proposal_id).to_message()
    v2 = submitted_event(
        proposal("Second Name"), proposal_id=proposal_id, version=2, event_type="proposal.submitted"
    ).to_message()

    review_proposal_submitted(event=v2)
    review_proposal_submitted(event=v1)

    queued = rows(review_db, QueuedProposal)
    assert [(q.version, q.organization_name) for q in queued] == [(2, "Second Name")]


def test_malformed_event_is_rejected_logged_and_kept(redis_client, caplog):
    message = submitted_event().to_message()
    del message["payload"]["proposal"]["goals"]

    review_proposal_submitted(event=message)

    assert rows(review_db, QueuedProposal) == []
    rejected = rows(review_db, RejectedEvent)
    assert len(rejected) == 1
    assert rejected[0].reason == "malformed"
    assert rejected[0].event_id == message["event_id"]
    assert rejected[0].body == message
    assert rejected[0].errors == {"payload": {"proposal": {"goals": ["This field is required."]}}}
    assert "rejected a malformed proposal.submitted event" in caplog.text


def test_garbage_that_is_not_an_event_is_kept_too(redis_client):
    review_proposal_submitted(event="hello")
    rejected = rows(review_db, RejectedEvent)
    assert [(r.reason, r.body, r.event_id) for r in rejected] == [("malformed", "hello", None)]


def test_review_queue_api_lists_oldest_first(redis_client):
    from services.review import create_app

    now = datetime.now(UTC)
    newer = submitted_event(proposal("Newer Org"), submitted_at=now).to_message()
    older = submitted_event(
        proposal("Older Org"), submitted_at=now - timedelta(days=2)
    ).to_message()
    review_proposal_submitted(event=newer)
    review_proposal_submitted(event=older)

    client = signed_in(create_app(), staff_member("rev@agency.example", "reviewer"))
    response = client.get("/api/v1/queue")

    assert response.status_code == 200
    body = response.get_json()
    assert [p["organization"]["name"] for p in body["proposals"]] == ["Older Org", "Newer Org"]
    assert body["count"] == 2
