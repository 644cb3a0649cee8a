import uuid
from datetime import UTC, date, datetime

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from services.intake.models import Proposal
from services.intake.worker import database as intake_db
from services.notify import domain as notify_domain
from services.notify.models import Message
from services.notify.worker import database as notify_db
from services.reporting.models import Alliance as ReportingAlliance
from services.reporting.worker import database as reporting_db
from services.review.decisions import domain as decisions
from services.review.models import Alliance
from services.review.queue import domain as queue
from services.review.worker import database, outbox
from shared.domain import Acting, Conflict
from shared.events import new_event
from shared.proposal import ProposalSchema
from shared.testing import example_proposal
from tests.helpers import queued_tasks

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

NOTIFY_COORDINATOR = Acting(
    staff_id=uuid.uuid4(), email="coordinator@agency.example", roles=frozenset({"coordinator"})
)
LIAISON = decisions.Liaison(id=uuid.uuid4(), name="Lee Liaison", email="lee@agency.example")


def liaisons(staff_id):
    return LIAISON if staff_id == LIAISON.id else None


def arrive(name="Roofers", version=1, proposal_id=None):
    data = example_proposal()
    data["organization"]["name"] = name
    event = new_event(
        "proposal.submitted" if version == 1 else "proposal.resubmitted",
        producer="intake",
        payload={
            "proposal_id": proposal_id or uuid.uuid4(),
            "reference": f"AP-2026-{uuid.uuid4().int % 100000:05d}",
            "version": version,
            "submitted_at": datetime.now(UTC),
            "status_url": "http://127.0.0.1:8000/status/abc",
            "proposal": ProposalSchema().load(data),
        },
    )
    with database.transaction() as session:
        return queue.receive_submitted_proposal(session, event=event).proposal_id


def prepare(proposal_id, kind, **details):
    with database.transaction() as session:
        return decisions.prepare(
            session,
            proposal_id=proposal_id,
            kind=kind,
            details=details,
            actor="riley@agency.example",
            viewer_id=None,
            liaisons=liaisons,
        ).id


def release(*ids):
    with database.transaction() as session:
        decisions.release(
            session,
            decision_ids=list(ids),
            actor="coordinator@agency.example",
            viewer_id=None,
            outbox=outbox,
            liaisons=liaisons,
        )


def deliver_events(redis_client, queue_name):
    """Run the consumer tasks queued for a service, as its worker would."""
    import services.intake.tasks
    import services.notify.tasks
    import services.reporting.tasks

    apps = {
        "intake": services.intake.tasks.celery,
        "notify": services.notify.tasks.celery,
        "reporting": services.reporting.tasks.celery,
    }
    for name, kwargs in queued_tasks(redis_client, queue_name):
        if name.endswith((".relay_outbox", ".deliver_message")):
            continue
        apps[queue_name].tasks[name](**kwargs)


def test_changes_requested_reaches_intake_and_waits_in_notify(redis_client):
    proposal_id = arrive()
    decision = prepare(proposal_id, "changes_requested", message="Name the conferences.")
    release(decision)

    with database.transaction() as session:
        assert queue.get_for(session, proposal_id, viewer_id=None).status == "changes_requested"
    assert [name for name, _ in queued_tasks(redis_client, "intake")] == [
        "intake.changes_requested"
    ]
    deliver_events(redis_client, "notify")
    with notify_db.transaction() as session:
        [held] = session.scalars(select(Message)).all()
        assert held.status == "held"
        assert held.to_address == "dana@example.org"
        assert held.subject.startswith("Action required: changes requested")
        assert "Name the conferences." in held.text_body
        assert "http://127.0.0.1:8000/status/abc" in held.text_body


def test_staff_edit_and_release_a_held_decision_message(redis_client):
    proposal_id = arrive()
    release(prepare(proposal_id, "declined", reason="Outside our priorities this year."))
    deliver_events(redis_client, "notify")
    with notify_db.transaction() as session:
        [held] = notify_domain.held_messages(session, NOTIFY_COORDINATOR)
        notify_domain.edit_held(
            session,
            NOTIFY_COORDINATOR,
            message_id=held.id,
            subject="About your proposal",
            text_body="Dear Dana,\n\nNot this year <sorry>.",
        )
    with notify_db.transaction() as session:
        edited = session.get(Message, held.id)
        assert edited.subject == "About your proposal"
        assert "&lt;sorry&gt;" in edited.html_body
        released = notify_domain.release_held(session, NOTIFY_COORDINATOR, message_ids=[held.id])
        assert released == [held.id]
    with notify_db.transaction() as session:
        assert session.get(Message, held.id).status == "pending"
        with pytest.raises(Conflict):
            notify_domain.edit_held(
                session, NOTIFY_COORDINATOR, message_id=held.id, subject="x", text_body="y"
            )


def test_approval_signs_an_alliance_that_reaches_reporting_and_notify(redis_client):
    proposal_id = arrive(name="Michigan Roofing Contractors Association")
    decision = prepare(
        proposal_id,
        "approved",
        division="construction_safety_health",
        liaison_id=str(LIAISON.id),
        signing_date="2026-12-01",
    )
    release(decision)

    with database.transaction() as session:
        alliance = session.scalars(select(Alliance)).one()
        assert (alliance.term_years, alliance.ends_on) == (2, date(2028, 11, 30))
        assert alliance.liaison_name == "Lee Liaison"
        assert queue.get_for(session, proposal_id, viewer_id=None).status == "approved"
    assert sorted(name for name, _ in queued_tasks(redis_client, "notify")) == [
        "notify.alliance_signed",
        "notify.proposal_approved",
    ]
    [(name, kwargs)] = queued_tasks(redis_client, "reporting")
    assert name == "reporting.alliance_signed"
    signed = kwargs["event"]["payload"]
    assert signed["partner"]["name"] == "Michigan Roofing Contractors Association"
    assert signed["liaison"]["email"] == "lee@agency.example"
    assert signed["contact"]["email"] == "dana@example.org"
    assert [g["category"] for g in signed["goals"]] == [
        "outreach_communication",
        "training_education",
    ]

    deliver_events(redis_client, "reporting")
    deliver_events(redis_client, "notify")
    with reporting_db.transaction() as session:
        copy = session.scalars(select(ReportingAlliance)).one()
        assert (copy.id, copy.signing_date) == (alliance.id, date(2026, 12, 1))
    with notify_db.transaction() as session:
        sent = {(m.template, m.to_address, m.status) for m in session.scalars(select(Message))}
    assert sent == {
        ("decision_approved", "dana@example.org", "held"),
        ("alliance_signed_partner", "dana@example.org", "pending"),
        ("alliance_signed_liaison", "lee@agency.example", "pending"),
    }

    # The applicant's status page learns the decision too.
    with intake_db.transaction() as session:
        session.add(
            Proposal(
                id=proposal_id,
                reference="AP-2026-00001",
                status="submitted",
                organization_name="x",
                contact_email="dana@example.org",
                data={},
                version=1,
            )
        )
    deliver_events(redis_client, "intake")
    with intake_db.transaction() as session:
        assert session.get(Proposal, proposal_id).status == "approved"


def test_decisions_prepared_for_many_are_released_together_or_not_at_all(redis_client):
    first, second, third = arrive("One"), arrive("Two"), arrive("Three")
    prepared = [
        prepare(first, "declined", reason="Not now."),
        prepare(second, "changes_requested", message="More detail."),
        prepare(third, "declined", reason="Not now."),
    ]
    arrive("Three", version=2, proposal_id=third)  # resubmitted after preparing

    with pytest.raises(queue.QueueError, match="changed since the decision was prepared"):
        release(*prepared)
    with database.transaction() as session:
        assert [
            queue.get_for(session, p, viewer_id=None).status for p in (first, second, third)
        ] == ["waiting", "waiting", "resubmitted"]
        assert len(decisions.pending(session, viewer_id=None)) == 3
    assert redis_client.llen("intake") == 0

    release(prepared[0], prepared[1])
    with database.transaction() as session:
        assert [queue.get_for(session, p, viewer_id=None).status for p in (first, second)] == [
            "declined",
            "changes_requested",
        ]
        assert len(decisions.pending(session, viewer_id=None)) == 1


def test_bad_decisions_say_what_is_missing():
    proposal_id = arrive()
    with pytest.raises(ValidationError) as caught:
        prepare(
            proposal_id,
            "approved",
            division="moon",
            liaison_id=str(uuid.uuid4()),
            signing_date="2026-12-01",
        )
    assert list(caught.value.messages) == ["division"]
    with pytest.raises(ValidationError) as caught:
        prepare(
            proposal_id,
            "approved",
            division="construction_safety_health",
            liaison_id=str(uuid.uuid4()),
            signing_date="2026-12-01",
        )
    assert list(caught.value.messages) == ["liaison_id"]
    with pytest.raises(ValidationError) as caught:
        prepare(proposal_id, "declined")
    assert caught.value.messages == {"reason": ["Give the reason for declining."]}
    with pytest.raises(ValidationError):
        prepare(
            proposal_id,
            "approved",
            division="construction_safety_health",
            liaison_id=str(LIAISON.id),
            signing_date="2026-12-01",
            term_years=9,
        )
