import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.notify.models import Message
from services.notify.models import ProcessedEvent as NotifyProcessed
from services.notify.models import RejectedEvent as NotifyRejected
from services.notify.tasks import proposal_submitted as notify_proposal_submitted
from services.notify.worker import database as notify_db
from services.review.models import ProcessedEvent, QueuedProposal, RejectedEvent
from services.review.tasks import proposal_submitted as review_proposal_submitted
from services.review.worker import database as review_db
from tests.factories import proposal, signed_in, staff_member, submitted_event

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


def test_notify_records_a_receipt_and_a_coordinator_alert_once(redis_client):
    message = submitted_event().to_message()

    notify_proposal_submitted(event=message)
    notify_proposal_submitted(event=message)

    messages = sorted(rows(notify_db, Message), key=lambda m: m.template)
    assert [(m.template, m.to_address) for m in messages] == [
        ("proposal_coordinator_alert", "coordinator@agency.example"),
        ("proposal_receipt", "dana@example.org"),
    ]
    reference = message["payload"]["reference"]
    assert all(reference in m.subject for m in messages)
    assert messages[0].subject.startswith("Action required:")
    assert reference in messages[1].text_body
    # The Coordinator is sent to the proposal's staff page, not to a JSON API.
    from shared.config import load_settings

    page = f"{load_settings().public_base_url}/review/staff/proposals/"
    proposal_id = message["payload"]["proposal_id"]
    assert f"Open the proposal:\n{page}{proposal_id}\n" in messages[0].text_body
    # One delivery task per new message went to the notify queue, none for the duplicate.
    assert redis_client.llen("notify") == 2
    assert len(rows(notify_db, NotifyProcessed)) == 1


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
