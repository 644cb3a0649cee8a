"""Notify's staff rules (services/notify/log/domain.py), including a mistake once made: a
reviewer who declared a conflict of interest could still list, read and edit the held messages
about that organization's proposal in notify. Conflicts reach notify as review's
``staff.conflict_declared`` event, consumed by ``notify.conflict_declared``."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from services.notify.delivery import domain as delivery
from services.notify.log import domain
from services.notify.messages import domain as messages
from services.notify.models import Message
from services.notify.worker import database
from shared.config import load_agency_profile, load_settings
from shared.db import utcnow
from shared.domain import Conflict, Forbidden, Invalid, NotFound
from tests import servers as test_servers
from tests.notify.log.helpers import BAKERS, a_held_decision, arrives, copies_of, declined
from tests.shared.factories import ROOFERS, acting

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases", "redis_client")]

# Staff as notify sees them. Through the API and pages a session carries no conflicts: notify
# learns them from review's event (REVIEWER declares one, COLLEAGUE does not).
COORDINATOR = acting("coordinator@agency.example", "coordinator")
REVIEWER = acting("reviewer@agency.example", "reviewer")
COLLEAGUE = acting("colleague@agency.example", "reviewer")
LIAISON = acting("liaison@agency.example", "liaison")
NOBODY = acting("nobody@agency.example")  # signed in, no staff role
BY_ROLE = {"coordinator": COORDINATOR, "reviewer": REVIEWER, "liaison": LIAISON}


def looks() -> dict:
    """What an edited message's HTML is laid out with: the settings and the agency's profile."""
    return {"settings": load_settings(), "profile": load_agency_profile()}


# -- builders ---------------------------------------------------------------------------------


def proposal_of(message_id: uuid.UUID) -> uuid.UUID:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert message.proposal_id is not None
        return message.proposal_id


def stored(message_id: uuid.UUID) -> tuple:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return (message.status, message.subject, message.text_body, message.edited_by,
                message.released_by)  # fmt: skip


def set_status(message_id: uuid.UUID, **values: object) -> None:
    with database.transaction() as session:
        session.execute(update(Message).where(Message.id == message_id).values(**values))


def ids(messages: list[Message]) -> list[uuid.UUID]:
    return [message.id for message in messages]


def test_every_message_about_a_proposal_knows_its_organization():
    proposal_id = arrives("Michigan Roofing Contractors Assn.")
    # A decision whose event does not name the organization takes it from the proposal.
    held = declined(proposal_id, organization_name="")

    with database.transaction() as session:
        keys = set(
            session.scalars(
                select(Message.organization_key).where(Message.proposal_id == proposal_id)
            )
        )
        assert session.get(Message, held) is not None
    assert keys == {"michigan roofing contractors assn"}


# -- the rules, one by one, at the domain level -----------------------------------------------


def liaison_of(proposal_id: uuid.UUID, liaison=LIAISON) -> uuid.UUID:
    """Review made ``liaison`` the liaison of the proposal's alliance, and notify heard of it
    (as from ``alliance.reports_scheduled``). Returns the alliance's id."""
    alliance_id = uuid.uuid4()
    with database.transaction() as session:
        messages.record_liaison(
            session,
            {
                "alliance_id": alliance_id,
                "proposal_id": proposal_id,
                "liaison": {"id": liaison.staff_id, "name": "Lee", "email": liaison.email},
            },
        )
    return alliance_id


def test_staff_read_the_log_and_a_message_of_their_part_but_only_staff():
    proposal_id, held = a_held_decision(ROOFERS)
    liaison_of(proposal_id)
    other_liaison = acting("other-liaison@agency.example", "liaison")
    with database.transaction() as session:
        for role in ("coordinator", "reviewer", "liaison"):
            reader = BY_ROLE[role]
            assert ids(domain.message_log(session, reader, status="held")) == [held]
            assert domain.get_message(session, reader, held).id == held
        assert domain.message_log(session, other_liaison, status="held") == []
        with pytest.raises(Forbidden, match="not about a proposal or an alliance you follow"):
            domain.get_message(session, other_liaison, held)
        with pytest.raises(Forbidden):
            domain.message_log(session, NOBODY, proposal_id=proposal_id)
        with pytest.raises(Forbidden):
            domain.get_message(session, NOBODY, held)
        with pytest.raises(NotFound):
            domain.get_message(session, LIAISON, uuid.uuid4())


def test_a_conflict_hides_every_message_of_the_proposal_in_the_log():
    proposal_id, held = a_held_decision(ROOFERS)
    _, bakers_held = a_held_decision(BAKERS)
    # A message whose own event named no organization is hidden with its proposal's others.
    set_status(held, organization_key="")
    in_conflict = acting("liaison@agency.example", "liaison", conflicts=(ROOFERS,))
    liaison_of(proposal_id, in_conflict)
    liaison_of(proposal_of(bakers_held), in_conflict)
    liaison_of(proposal_id)
    with database.transaction() as session:
        assert domain.message_log(session, in_conflict, proposal_id=proposal_id) == []
        assert ids(domain.message_log(session, in_conflict, status="held")) == [bakers_held]
        with pytest.raises(Forbidden, match="conflict of interest"):
            domain.get_message(session, in_conflict, held)
        assert len(domain.message_log(session, LIAISON, proposal_id=proposal_id)) == 3


def test_only_the_coordinator_and_reviewers_list_edit_release_and_hold_held_messages():
    _, held = a_held_decision(ROOFERS)
    before = stored(held)
    liaison = LIAISON
    with database.transaction() as session:
        with pytest.raises(Forbidden):
            domain.held_messages(session, liaison)
        with pytest.raises(Forbidden):
            domain.edit_held(
                session, liaison, message_id=held, subject="S", text_body="T", **looks()
            )
        with pytest.raises(Forbidden):
            domain.release_held(session, liaison, message_ids=[held])
        with pytest.raises(Forbidden):
            domain.hold_again(session, liaison, message_ids=[held])
    assert stored(held) == before
    for role in ("coordinator", "reviewer"):
        with database.transaction() as session:
            assert ids(domain.held_messages(session, BY_ROLE[role])) == [held]


def test_a_releaser_edits_releases_and_holds_back_with_their_name_on_it():
    _, held = a_held_decision(ROOFERS)
    reviewer = REVIEWER
    with database.transaction() as session:
        edited = domain.edit_held(
            session,
            reviewer,
            message_id=held,
            subject="  About   AP ",
            text_body="Dear Dana,\r\n",
            **looks(),
        )
        assert (edited.subject, edited.text_body, edited.edited_by) == (
            "About AP",
            "Dear Dana,\n",
            "reviewer@agency.example",
        )
        assert domain.release_held(session, reviewer, message_ids=[held, uuid.uuid4()]) == [held]
    assert stored(held)[0::4] == ("pending", "reviewer@agency.example")
    with database.transaction() as session:
        assert domain.hold_again(session, COORDINATOR, message_ids=[held]) == 1
    assert stored(held)[0::4] == ("held", None)


def test_a_letter_edited_keeps_the_language_it_was_written_in():
    """A held letter to a contact who reads Spanish, rewritten by staff: its HTML part stays
    in Spanish (the layout's words and the signature), an English one in English."""
    _, spanish = a_held_decision(ROOFERS, language="es")
    _, english = a_held_decision("Bakers Guild")
    with database.transaction() as session:
        for held in (spanish, english):
            domain.edit_held(
                session,
                REVIEWER,
                message_id=held,
                subject="Su propuesta",
                text_body="Estimada Dana:\n\nGracias.\n",
                **looks(),
            )
    with database.transaction() as session:
        rewritten = session.get(Message, spanish).html_body
        kept = session.get(Message, english).html_body
    assert '<html lang="es">' in rewritten
    assert "Estimada Dana:" in rewritten
    assert "Programa de Alianzas" in rewritten  # the signature, in Spanish
    assert '<html lang="en">' in kept


def test_an_edit_is_refused_when_the_message_is_gone_sent_or_blank():
    _, held = a_held_decision(ROOFERS)
    before = stored(held)
    reviewer = REVIEWER
    with database.transaction() as session:
        with pytest.raises(NotFound):
            domain.edit_held(
                session, reviewer, message_id=uuid.uuid4(), subject="S", text_body="T", **looks()
            )
        with pytest.raises(Invalid) as blank:
            domain.edit_held(
                session, reviewer, message_id=held, subject=" ", text_body="\n ", **looks()
            )
    assert blank.value.errors == {
        "subject": ["Write the subject."],
        "text_body": ["Write the message."],
    }
    assert stored(held) == before
    set_status(held, status="sent")
    with database.transaction() as session, pytest.raises(Conflict):
        domain.edit_held(session, reviewer, message_id=held, subject="S", text_body="T", **looks())
    assert stored(held) == ("sent", *before[1:])


def test_only_the_coordinator_and_reviewers_resend_and_never_a_held_message():
    _, held = a_held_decision(ROOFERS)
    with database.transaction() as session, pytest.raises(Conflict, match="release it instead"):
        domain.resend(session, COORDINATOR, message_id=held)
    set_status(held, status="failed")
    with database.transaction() as session, pytest.raises(Forbidden):
        domain.resend(session, LIAISON, message_id=held)
    assert copies_of(held) == 0
    with database.transaction() as session:
        copy = domain.resend(session, REVIEWER, message_id=held)
        assert (copy.status, copy.released_by, copy.organization_key) == (
            "pending",
            "reviewer@agency.example",
            "michigan roofing contractors association",
        )
    assert copies_of(held) == 1


def test_only_the_coordinator_follows_failed_deliveries():
    _, held = a_held_decision(ROOFERS)
    set_status(held, status="failed")
    with database.transaction() as session:
        assert ids(domain.delivery_problems(session, COORDINATOR)) == [held]
        assert (
            domain.delivery_problems(
                session, acting("coordinator@agency.example", "coordinator", conflicts=(ROOFERS,))
            )
            == []
        )
        for role in ("reviewer", "liaison"):
            with pytest.raises(Forbidden):
                domain.delivery_problems(session, BY_ROLE[role])


def test_the_alert_about_a_failed_message_is_hidden_with_the_proposal():
    _, held = a_held_decision(ROOFERS)
    set_status(held, status="sending", attempts=1)
    policy = delivery.DeliveryPolicy(
        retry_schedule=(),
        coordinator_email="coordinator@agency.example",
        agency="MIOSHA",
        failures_url="http://127.0.0.1:8000/notify/staff/deliveries",
    )
    with database.transaction() as session:
        outcome = delivery.record_not_sent(
            session,
            message_id=held,
            attempt=1,
            error="550 no such user",
            permanent=True,
            policy=policy,
            now=utcnow(),
        )
    [alert] = outcome.follow_up
    with database.transaction() as session:
        assert session.get(Message, alert).proposal_id is None
        failed = domain.message_log(session, COORDINATOR, status="failed")
        pending = domain.message_log(session, COORDINATOR, status="pending")
        in_conflict = acting("coordinator@agency.example", "coordinator", conflicts=(ROOFERS,))
        assert ids(failed) == [held]
        assert alert in ids(pending)
        assert alert not in ids(domain.message_log(session, in_conflict, status="pending"))


# -- messages stored before notify kept their organization --------------------------------------


def test_messages_stored_before_take_their_organization_from_the_subjects_that_name_it(servers):
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from shared.db import sqlalchemy_url
    from shared.migrations import alembic_config, ensure_database

    url = (
        make_url(servers.database_url("notify"))
        .set(database=f"{test_servers.test_database_name('notify')}_backfill")
        .render_as_string(hide_password=False)
    )
    admin = create_engine(sqlalchemy_url(servers.postgres_url), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    with admin.connect() as conn:
        conn.execute(drop)
    ensure_database(url)
    config = alembic_config("notify", url)
    command.upgrade(config, "0005")
    roofers, bakers, acme, unnamed = (uuid.uuid4() for _ in range(4))
    rows = [
        # (proposal_id, reference, template, subject)
        (roofers, "AP-1", "proposal_receipt", "We received your Alliance proposal AP-1"),
        (roofers, "AP-1", "proposal_coordinator_alert",
         "Action required: new Alliance proposal AP-1 from Michigan Roofing Contractors Assn."),
        (roofers, "AP-1", "decision_declined", "Decision on your Alliance proposal AP-1"),
        (None, "AP-1", "delivery_failed", "A message could not be delivered (AP-1)"),
        (bakers, "AP-2", "proposal_coordinator_alert",
         "Action required: new Alliance proposal AP-2 from Bakers (Lansing)"
         " (resubmitted, version 2)"),
        (acme, "AP-3", "alliance_signed_liaison",
         "Action required: you are the liaison for Acme Safety (AP-3)"),
        (acme, "AP-3", "alliance_signed_partner", "Your alliance is signed (AP-3)"),
        (unnamed, "AP-4", "proposal_receipt", "We received your Alliance proposal AP-4"),
    ]  # fmt: skip
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            for proposal_id, reference, template, subject in rows:
                conn.execute(
                    text(
                        "INSERT INTO messages (id, cause, template, proposal_id, reference,"
                        " to_address, subject, text_body, html_body, status, attempts,"
                        " ambiguous_deliveries, created_at, next_attempt_at) VALUES (:id,"
                        " :cause, :template, :proposal_id, :reference, 'dana@example.org',"
                        " :subject, 'text', '<p>html</p>', 'sent', 1, 0, now(), now())"
                    ),
                    {
                        "id": uuid.uuid4(),
                        "cause": f"test:{uuid.uuid4()}",
                        "template": template,
                        "proposal_id": proposal_id,
                        "reference": reference,
                        "subject": subject,
                    },
                )
        command.upgrade(config, "0006")
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT template, reference, organization_key FROM messages")
            ).all()
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(drop)
        admin.dispose()

    assert sorted(found) == [
        ("alliance_signed_liaison", "AP-3", "acme safety"),
        ("alliance_signed_partner", "AP-3", "acme safety"),
        ("decision_declined", "AP-1", "michigan roofing contractors assn"),
        ("delivery_failed", "AP-1", "michigan roofing contractors assn"),
        ("proposal_coordinator_alert", "AP-1", "michigan roofing contractors assn"),
        ("proposal_coordinator_alert", "AP-2", "bakers lansing"),
        ("proposal_receipt", "AP-1", "michigan roofing contractors assn"),
        ("proposal_receipt", "AP-4", ""),
    ]
