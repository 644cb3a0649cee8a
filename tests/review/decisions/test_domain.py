import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.intake.models import Proposal
from services.intake.worker import database as intake_db
from services.notify.log import domain as notify_domain
from services.notify.models import Message
from services.notify.worker import database as notify_db
from services.reporting.models import Alliance as ReportingAlliance
from services.reporting.worker import database as reporting_db
from services.reporting.worker import outbox as reporting_outbox
from services.review import audit
from services.review.base import OutboxEvent
from services.review.decisions import domain as decisions
from services.review.decisions.models import PreparedDecision
from services.review.models import Alliance
from services.review.queue import domain as queue
from services.review.worker import database, outbox
from shared.config import load_agency_profile, load_settings
from shared.dates import term_end
from shared.domain import Conflict, Forbidden, Invalid
from tests.helpers import queued_tasks
from tests.intake.factories import proposal, submitted_event
from tests.review.factories import (
    LIAISON,
    agency_today,
    approval,
    prepared_decision,
    queued_proposal,
    record_signing,
    release_decisions,
)
from tests.shared.factories import COORDINATOR, REVIEWER, acting

pytestmark = pytest.mark.integration

COMMITTED = pytest.mark.usefixtures("clean_databases")
STATUS_URL = "http://127.0.0.1:8000/status/abc"
NOTIFY_COORDINATOR = acting("coordinator@agency.example", "coordinator")
LIAISON_ACTING = acting(LIAISON.email, "liaison")
CONFLICTED = acting("rita@agency.example", "reviewer", conflicts=("Roofers",))


def arrive(name="Roofers"):
    return queued_proposal(proposal(name)).proposal_id


def prepare(proposal_id, kind, **details):
    return prepared_decision(proposal_id, kind, details).id


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


@COMMITTED
def test_changes_requested_reaches_intake_and_waits_in_notify(redis_client):
    arrival = submitted_event(proposal("Roofers"), status_url=STATUS_URL)
    proposal_id = queued_proposal(arrival).proposal_id
    decision = prepare(proposal_id, "changes_requested", message="Name the conferences.")
    release_decisions(decision)

    with database.transaction() as session:
        assert queue.get_for(session, proposal_id, acting=COORDINATOR).status == "changes_requested"
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
        assert STATUS_URL in held.text_body


@COMMITTED
def test_staff_edit_and_release_a_held_decision_message(redis_client):
    proposal_id = arrive()
    release_decisions(prepare(proposal_id, "declined", reason="Outside our priorities this year."))
    deliver_events(redis_client, "notify")
    with notify_db.transaction() as session:
        [held] = notify_domain.held_messages(session, NOTIFY_COORDINATOR)
        notify_domain.edit_held(
            session,
            NOTIFY_COORDINATOR,
            message_id=held.id,
            subject="About your proposal",
            text_body="Dear Dana,\n\nNot this year <sorry>.\n\n-- \nThe signature typed",
            settings=load_settings(),
            profile=load_agency_profile(),
        )
    with notify_db.transaction() as session:
        edited = session.get(Message, held.id)
        assert edited.subject == "About your proposal"
        assert "&lt;sorry&gt;" in edited.html_body
        # In the usual layout (masthead, the configured signature, inlined CSS), signed once.
        assert 'class="signature"' in edited.html_body
        assert "style=" in edited.html_body
        assert "The signature typed" not in edited.html_body
        assert "<style" not in edited.html_body
        released = notify_domain.release_held(session, NOTIFY_COORDINATOR, message_ids=[held.id])
        assert released == [held.id]
    with notify_db.transaction() as session:
        assert session.get(Message, held.id).status == "pending"
        with pytest.raises(Conflict):
            notify_domain.edit_held(
                session,
                NOTIFY_COORDINATOR,
                message_id=held.id,
                subject="x",
                text_body="y",
                settings=load_settings(),
                profile=load_agency_profile(),
            )


@COMMITTED
def test_approval_then_the_recorded_signing_reach_reporting_and_notify(redis_client):
    proposal_id = arrive(name="Michigan Roofing Contractors Association")
    release_decisions(prepared_decision(proposal_id, "approved", approval(LIAISON)).id)

    # Approved: the alliance awaits its signing, and only the decision goes out.
    with database.transaction() as session:
        alliance = session.scalars(select(Alliance)).one()
        assert (alliance.status, alliance.term_years) == ("awaiting_signature", 2)
        assert (alliance.signing_date, alliance.ends_on) == (None, None)
        assert alliance.liaison_name == "Lee Liaison"
        assert queue.get_for(session, proposal_id, acting=COORDINATOR).status == "approved"
    assert [name for name, _ in queued_tasks(redis_client, "notify")] == [
        "notify.proposal_approved",
        "notify.webhooks_proposal_approved",
    ]
    tasks = dict(queued_tasks(redis_client, "reporting"))
    assert sorted(tasks) == ["reporting.proposal_approved"]
    assert "signing_date" not in tasks["reporting.proposal_approved"]["event"]["payload"]
    deliver_events(redis_client, "reporting")
    deliver_events(redis_client, "notify")
    with notify_db.transaction() as session:
        sent = {(m.template, m.to_address, m.status) for m in session.scalars(select(Message))}
    assert sent == {("decision_approved", "dana@example.org", "held")}
    with reporting_db.transaction() as session:
        assert session.scalars(select(ReportingAlliance)).all() == []
    redis_client.delete("notify", "reporting")  # delivered

    # The Coordinator records the signing: now reporting schedules the reports, and notify
    # welcomes the partner and the liaison once it has the report calendar.
    signed_on = agency_today()
    record_signing(alliance.id, signed_on)
    assert [name for name, _ in queued_tasks(redis_client, "notify")] == [
        "notify.webhooks_alliance_signed"
    ]
    tasks = dict(queued_tasks(redis_client, "reporting"))
    assert sorted(tasks) == ["reporting.alliance_signed"]
    signed = tasks["reporting.alliance_signed"]["event"]["payload"]
    assert signed["signing_date"] == signed_on.isoformat()
    assert signed["ends_on"] == term_end(signed_on, 2).isoformat()
    assert signed["partner"]["name"] == "Michigan Roofing Contractors Association"
    assert signed["liaison"]["email"] == "lee@agency.example"
    assert signed["contact"]["email"] == "dana@example.org"
    assert [g["category"] for g in signed["goals"]] == [
        "outreach_communication",
        "training_education",
    ]

    deliver_events(redis_client, "reporting")
    reporting_outbox.publish_pending()  # what the nudge may not have published yet
    assert sorted({name for name, _ in queued_tasks(redis_client, "notify")}) == [
        "notify.reports_scheduled",
        "notify.webhooks_alliance_signed",
    ]
    deliver_events(redis_client, "notify")
    with reporting_db.transaction() as session:
        copy = session.scalars(select(ReportingAlliance)).one()
        assert (copy.id, copy.signing_date) == (alliance.id, signed_on)
    with notify_db.transaction() as session:
        sent = {(m.template, m.to_address, m.status) for m in session.scalars(select(Message))}
    # The approval letter is still held for a last look: the partner's welcome waits behind
    # it (never "signed" before "approved"); the liaison's goes.
    assert sent == {
        ("decision_approved", "dana@example.org", "held"),
        ("alliance_signed_partner", "dana@example.org", "held"),
        ("alliance_signed_liaison", "lee@agency.example", "pending"),
    }
    with notify_db.transaction() as session:
        letter = session.scalars(
            select(Message).where(Message.template == "decision_approved")
        ).one()
        assert notify_domain.release_held(session, NOTIFY_COORDINATOR, message_ids=[letter.id]) == [
            letter.id
        ]
    with notify_db.transaction() as session:
        by_template = {m.template: m for m in session.scalars(select(Message))}
        letter, welcome = by_template["decision_approved"], by_template["alliance_signed_partner"]
        assert (letter.status, welcome.status) == ("pending", "pending")
        # The welcome goes out just after the letter, released with it.
        assert welcome.next_attempt_at - letter.next_attempt_at >= timedelta(seconds=15)
        assert welcome.released_by == letter.released_by

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


@COMMITTED
def test_decisions_prepared_for_many_are_released_together_or_not_at_all(redis_client):
    first, second, third = arrive("One"), arrive("Two"), arrive("Three")
    prepared = [
        prepare(first, "declined", reason="Not now."),
        prepare(second, "changes_requested", message="More detail."),
        prepare(third, "declined", reason="Not now."),
    ]
    # Resubmitted after preparing:
    queued_proposal(submitted_event(proposal("Three"), version=2, proposal_id=third))

    with pytest.raises(Conflict, match="changed since the decision was prepared"):
        release_decisions(*prepared)
    with database.transaction() as session:
        assert [
            queue.get_for(session, p, acting=COORDINATOR).status for p in (first, second, third)
        ] == ["waiting", "waiting", "resubmitted"]
        assert len(decisions.pending(session, acting=COORDINATOR)) == 3
    assert redis_client.llen("intake") == 0

    release_decisions(prepared[0], prepared[1])
    with database.transaction() as session:
        assert [queue.get_for(session, p, acting=COORDINATOR).status for p in (first, second)] == [
            "declined",
            "changes_requested",
        ]
        assert len(decisions.pending(session, acting=COORDINATOR)) == 1


# -- the rules of preparing, seeing and releasing (domain level, each test rolled back) --------


def stored(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def queued(session, name="Roofers"):
    return queued_proposal(proposal(name), session=session).proposal_id


def declined(session, proposal_id, by=REVIEWER):
    return prepared_decision(proposal_id, by=by, session=session)


def test_bad_decisions_say_what_is_missing_and_nothing_is_stored(session):
    proposal_id = queued(session)
    approved = approval(LIAISON)
    for kind, details, errors in [
        ("approved", {**approved, "division": "moon"}, ["division"]),
        ("approved", {**approved, "liaison_id": str(uuid.uuid4())}, ["liaison_id"]),
        ("approved", {**approved, "term_years": 9}, ["term_years"]),
        ("declined", {}, ["reason"]),
        ("maybe", {}, ["kind"]),
    ]:
        with pytest.raises(Invalid) as refused:
            prepared_decision(proposal_id, kind, details, session=session)
        assert list(refused.value.errors) == errors
    with pytest.raises(Invalid) as refused:
        prepared_decision(proposal_id, "declined", {}, session=session)
    assert refused.value.errors == {"reason": ["Give the reason for declining."]}
    assert stored(session, PreparedDecision) == 0


@pytest.mark.parametrize("who", [REVIEWER, COORDINATOR], ids=["reviewer", "coordinator"])
def test_reviewers_and_the_coordinator_prepare_see_and_release_decisions(session, who):
    proposal_id = queued(session)
    decision = declined(session, proposal_id, by=who)
    assert decision.prepared_by == who.email
    assert [p.decision.id for p in decisions.pending(session, acting=who)] == [decision.id]

    [released] = decisions.release(session, acting=who, decision_ids=[decision.id], outbox=outbox)

    assert (released.id, released.released_by) == (decision.id, who.email)
    assert queue.get_for(session, proposal_id, acting=who).status == "declined"
    assert decisions.pending(session, acting=who) == []
    assert [row.type for row in session.scalars(select(OutboxEvent))] == ["proposal.declined"]


def test_a_liaison_neither_prepares_sees_nor_releases_a_decision(session):
    proposal_id = queued(session)
    with pytest.raises(Forbidden, match="Only reviewers and the Coordinator"):
        declined(session, proposal_id, by=LIAISON_ACTING)
    assert stored(session, PreparedDecision) == 0

    decision = declined(session, proposal_id)
    with pytest.raises(Forbidden):
        decisions.pending(session, acting=LIAISON_ACTING)
    with pytest.raises(Forbidden):
        decisions.release(session, acting=LIAISON_ACTING, decision_ids=[decision.id], outbox=outbox)
    assert decision.released_at is None
    assert queue.get_for(session, proposal_id, acting=REVIEWER).status == "waiting"
    assert stored(session, OutboxEvent) == 0


def test_a_conflicted_reviewer_neither_prepares_sees_nor_releases_a_decision(session):
    tied = queued(session, "Roofers")
    other = queued(session, "Masons")
    with pytest.raises(Forbidden, match="conflict of interest"):
        declined(session, tied, by=CONFLICTED)
    assert stored(session, PreparedDecision) == 0

    on_tied, on_other = declined(session, tied), declined(session, other)
    assert [p.decision.id for p in decisions.pending(session, acting=CONFLICTED)] == [on_other.id]
    with pytest.raises(Forbidden, match="another reviewer must release this decision"):
        decisions.release(
            session, acting=CONFLICTED, decision_ids=[on_other.id, on_tied.id], outbox=outbox
        )
    # Nothing was released, not even the decision they may release.
    session.expire_all()
    released = [session.get(PreparedDecision, d.id).released_at for d in (on_tied, on_other)]
    assert released == [None, None]
    assert [queue.get_for(session, p, acting=REVIEWER).status for p in (tied, other)] == [
        "waiting",
        "waiting",
    ]
    assert stored(session, OutboxEvent) == 0
    assert "decision released: declined" not in [
        e.action for e in audit.history(session, entity_type="proposal", entity_id=other)
    ]


def test_a_decision_is_prepared_only_while_the_proposal_waits_for_one(session):
    proposal_id = queued(session)
    decisions.release(
        session,
        acting=REVIEWER,
        decision_ids=[declined(session, proposal_id).id],
        outbox=outbox,
    )
    with pytest.raises(Conflict, match="not waiting for a decision"):
        declined(session, proposal_id)
    assert stored(session, PreparedDecision) == 1


def test_a_release_names_a_decision_and_one_already_released_stops_it(session):
    decision = declined(session, queued(session))
    with pytest.raises(Invalid) as refused:
        decisions.release(session, acting=REVIEWER, decision_ids=[], outbox=outbox)
    assert refused.value.errors == {"decision_ids": ["Choose at least one decision to release."]}
    decisions.release(session, acting=REVIEWER, decision_ids=[decision.id], outbox=outbox)
    with pytest.raises(Conflict, match="already released or removed"):
        decisions.release(session, acting=REVIEWER, decision_ids=[decision.id], outbox=outbox)
    assert stored(session, OutboxEvent) == 1
