"""Issue 16: the new-proposal alert and the 30-day escalation went to the placeholder
COORDINATOR_EMAIL (coordinator@agency.example), never to the Coordinator that was created.

Review owns the staff accounts and announces the active Coordinators whenever that set
changes (``staff.coordinators_changed``, through its outbox); notify keeps the list
(``notify.coordinators_changed``) and writes the Coordinator's mail to each of them by name,
to COORDINATOR_EMAIL only while it knows none. An upgraded system learns its Coordinators
from review's migration 0009.

The message log's API lists messages in the order of the log page (newest first by the
time shown, ties by id), as its OpenAPI description says; and the Coordinator's operational
alerts (a message that could not be delivered, a webhook endpoint disabled) go to each known
active Coordinator by name, to COORDINATOR_EMAIL only while notify knows none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

import services.notify.tasks
from deploy.embedded import free_port
from services.notify.delivery import domain as delivery
from services.notify.messages import domain as messages
from services.notify.models import KnownCoordinators, Message, ProcessedEvent
from services.notify.worker import database
from services.notify.worker import database as notify_database
from services.review.models import OutboxEvent
from services.review.staff import domain as accounts
from services.review.worker import database as review_database
from shared.config import load_agency_profile, load_settings
from shared.db import sqlalchemy_url, utcnow
from shared.events import new_event, parse_event
from shared.migrations import alembic_config, ensure_database
from tests import servers as test_servers
from tests.intake.factories import submitted_event
from tests.notify.delivery.test_domain import a_pending_message, deliver, smtp_mailer
from tests.review.factories import PASSWORD, acting_as, staff_member
from tests.smtp import RefusingInbox, SmtpServer

pytestmark = pytest.mark.integration

FALLBACK = "coordinator@agency.example"  # COORDINATOR_EMAIL in the tests (conftest.py)
CONSUMERS = {
    "proposal.submitted": "notify.proposal_submitted",
    "report.escalated": "notify.report_escalated",
    "staff.coordinators_changed": "notify.coordinators_changed",
}


# -- helpers ----------------------------------------------------------------------------------


def announcements() -> list[dict]:
    """Review's ``staff.coordinators_changed`` events, oldest first, as they go out."""
    with review_database.transaction() as session:
        return list(
            session.scalars(
                select(OutboxEvent.message)
                .where(OutboxEvent.type == "staff.coordinators_changed")
                .order_by(OutboxEvent.id)
            )
        )


def listed(message: dict) -> list[tuple[str, str]]:
    return [(c["name"], c["email"]) for c in message["payload"]["coordinators"]]


def consume(message: dict) -> None:
    """Run notify's consumer of the event, as its worker would."""
    services.notify.tasks.celery.tasks[CONSUMERS[message["type"]]](event=message)


def notify_learns_what_review_announced() -> None:
    """Each announcement review's outbox holds reaches notify, in order."""
    for message in announcements():
        consume(message)


def coordinator_mail() -> list[tuple[str, str, str]]:
    """(template, address, greeting) of each Coordinator alert and escalation notify recorded."""
    with notify_database.transaction() as session:
        rows = session.scalars(
            select(Message)
            .where(Message.template.in_(["proposal_coordinator_alert", "report_escalated"]))
            .order_by(Message.template, Message.to_address)
        ).all()
        return [(m.template, m.to_address, m.text_body.splitlines()[0]) for m in rows]


def escalation() -> dict:
    return new_event(
        "report.escalated",
        producer="reporting",
        payload={
            "report_id": uuid.uuid4(),
            "alliance_id": uuid.uuid4(),
            "proposal_id": uuid.uuid4(),
            "reference": "AP-2026-00042",
            "partner_name": "Roofers & Sons",
            "contact": {"name": "Dana Smith", "email": "dana@example.org"},
            "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
            "kind": "quarterly",
            "term": 0,
            "period_start": date(2026, 4, 1),
            "period_end": date(2026, 6, 30),
            "due_date": date(2026, 7, 30),
            "reminder": "escalated",
            "days": 30,
        },
    ).to_message()


def announcement(*people: tuple[str, str], at: datetime | None = None) -> dict:
    message = new_event(
        "staff.coordinators_changed",
        producer="review",
        payload={
            "coordinators": [
                {"id": uuid.uuid4(), "name": name, "email": email} for name, email in people
            ],
            "changed_at": at or datetime.now(UTC),
        },
    ).to_message()
    if at is not None:
        message["occurred_at"] = at.isoformat()
    return message


# -- review announces ---------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_review_announces_the_active_coordinators_whenever_they_change():
    # The first Coordinator, as `alliance create-coordinator` makes them.
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    [first] = announcements()
    assert first["producer"] == "review"
    assert listed(first) == [("Cora Coordinator", "cora@agency.example")]
    assert parse_event(first).payload["coordinators"][0]["id"] == cora.id

    with review_database.transaction() as session:
        # A reviewer is no Coordinator: nothing to announce.
        riley = accounts.create_staff(
            session,
            acting=acting_as(cora),
            email="riley@agency.example",
            name="Riley Reviewer",
            roles=["reviewer"],
            password=PASSWORD,
            settings=load_settings(),
        )
    assert len(announcements()) == 1

    with review_database.transaction() as session:
        accounts.create_staff(
            session,
            acting=acting_as(cora),
            email="ann@agency.example",
            name="Ann Abbott",
            roles=["coordinator", "reviewer"],
            password=PASSWORD,
            settings=load_settings(),
        )
    with review_database.transaction() as session:
        accounts.change_roles(
            session, acting=acting_as(cora), user_id=riley.id, roles=["coordinator"]
        )
    with review_database.transaction() as session:
        accounts.set_active(session, acting=acting_as(cora), user_id=riley.id, active=False)
    with review_database.transaction() as session:
        accounts.set_active(session, acting=acting_as(cora), user_id=riley.id, active=True)
    with review_database.transaction() as session:
        accounts.change_roles(session, acting=acting_as(cora), user_id=riley.id, roles=["liaison"])

    everyone = [
        ("Ann Abbott", "ann@agency.example"),
        ("Cora Coordinator", "cora@agency.example"),
        ("Riley Reviewer", "riley@agency.example"),
    ]
    without_riley = [everyone[0], everyone[1]]
    assert [listed(m) for m in announcements()[1:]] == [
        without_riley,  # Ann created a Coordinator
        everyone,  # Riley made Coordinator
        without_riley,  # Riley deactivated
        everyone,  # Riley reactivated
        without_riley,  # Riley's Coordinator role taken
    ]


# -- notify keeps the list and writes to it ------------------------------------------------------


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_the_alert_and_the_escalation_go_to_the_created_coordinators_by_name():
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    with review_database.transaction() as session:
        accounts.create_staff(
            session,
            acting=acting_as(cora),
            email="ann@agency.example",
            name="Ann Abbott",
            roles=["coordinator"],
            password=PASSWORD,
            settings=load_settings(),
        )
    notify_learns_what_review_announced()
    with notify_database.transaction() as session:
        kept = session.get(KnownCoordinators, 1)
        assert kept is not None
        assert [(c["name"], c["email"]) for c in kept.coordinators] == [
            ("Ann Abbott", "ann@agency.example"),
            ("Cora Coordinator", "cora@agency.example"),
        ]

    consume(submitted_event().to_message())
    consume(escalation())

    assert coordinator_mail() == [
        ("proposal_coordinator_alert", "ann@agency.example", "Dear Ann Abbott,"),
        ("proposal_coordinator_alert", "cora@agency.example", "Dear Cora Coordinator,"),
        ("report_escalated", "ann@agency.example", "Dear Ann Abbott,"),
        ("report_escalated", "cora@agency.example", "Dear Cora Coordinator,"),
    ]


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_a_deactivated_coordinator_gets_no_more_alerts():
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    ann = staff_member("ann@agency.example", "coordinator", name="Ann Abbott")
    with review_database.transaction() as session:
        accounts.set_active(session, acting=acting_as(cora), user_id=ann.id, active=False)
    notify_learns_what_review_announced()

    consume(submitted_event().to_message())

    assert coordinator_mail() == [
        ("proposal_coordinator_alert", "cora@agency.example", "Dear Cora Coordinator,"),
    ]


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_with_no_coordinator_known_the_mail_goes_to_coordinator_email():
    # Nothing announced yet (no Coordinator created): the placeholder, as before.
    consume(submitted_event().to_message())
    # Review would announce an empty list if no active Coordinator remained.
    consume(announcement(("Cora Coordinator", "cora@agency.example")))
    consume(announcement())
    consume(escalation())

    assert coordinator_mail() == [
        ("proposal_coordinator_alert", FALLBACK, "Dear Alliance Coordinator,"),
        ("report_escalated", FALLBACK, "Dear Alliance Coordinator,"),
    ]


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_a_redelivered_or_late_announcement_changes_nothing():
    now = datetime.now(UTC)
    older = announcement(("Old Coordinator", "old@agency.example"), at=now - timedelta(hours=1))
    newer = announcement(("Cora Coordinator", "cora@agency.example"), at=now)
    consume(newer)
    consume(newer)  # redelivered: the inbox makes it a no-op
    consume(older)  # an older list that arrives late does not replace the newer one

    with notify_database.transaction() as session:
        handled = session.scalars(
            select(ProcessedEvent.event_id).where(
                ProcessedEvent.consumer == "notify.coordinators_changed"
            )
        ).all()
        assert sorted(str(e) for e in handled) == sorted([newer["event_id"], older["event_id"]])
        kept = session.get(KnownCoordinators, 1)
        assert kept is not None
        assert [c["email"] for c in kept.coordinators] == ["cora@agency.example"]

    proposal = submitted_event().to_message()
    consume(proposal)
    consume(proposal)
    assert coordinator_mail() == [
        ("proposal_coordinator_alert", "cora@agency.example", "Dear Cora Coordinator,"),
    ]


# -- an upgraded system -------------------------------------------------------------------------


@pytest.fixture
def review_url(servers) -> Iterator[str]:
    url = (
        make_url(servers.database_url("review"))
        .set(database=f"{test_servers.test_database_name('review')}_coordinators")
        .render_as_string(hide_password=False)
    )
    admin = create_engine(sqlalchemy_url(servers.postgres_url), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    with admin.connect() as conn:
        conn.execute(drop)
    ensure_database(url)
    yield url
    with admin.connect() as conn:
        conn.execute(drop)
    admin.dispose()


def test_an_upgraded_system_announces_the_coordinators_it_already_has(review_url):
    config = alembic_config("review", review_url)
    command.upgrade(config, "0008_conflicts_to_reporting")
    engine = create_engine(sqlalchemy_url(review_url))
    try:
        with engine.begin() as conn:
            for email, name, roles, active in (
                ("cora@agency.example", "Cora Coordinator", ["coordinator"], True),
                ("ann@agency.example", "Ann Abbott", ["coordinator", "reviewer"], True),
                ("old@agency.example", "Old Coordinator", ["coordinator"], False),
                ("riley@agency.example", "Riley Reviewer", ["reviewer"], True),
            ):
                conn.execute(
                    text(
                        "INSERT INTO staff_users (id, email, name, roles, password_hash, active,"
                        " created_at, updated_at) VALUES (:id, :email, :name, :roles, 'x',"
                        " :active, now(), now())"
                    ),
                    {
                        "id": uuid.uuid4(),
                        "email": email,
                        "name": name,
                        "roles": roles,
                        "active": active,
                    },
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT message, published_at FROM outbox_events"
                    " WHERE type = 'staff.coordinators_changed'"
                )
            ).all()
    finally:
        engine.dispose()

    [(message, published_at)] = rows
    assert published_at is None  # the relay publishes it
    assert listed(message) == [
        ("Ann Abbott", "ann@agency.example"),
        ("Cora Coordinator", "cora@agency.example"),
    ]
    assert parse_event(message).producer == "review"


CORA = ("Cora Coordinator", "cora@agency.example")
COLIN = ("Colin Coordinator", "colin@agency.example")


def alerts(template: str) -> list[tuple[str, str, str]]:
    with database.transaction() as session:
        found = session.scalars(
            select(Message).where(Message.template == template).order_by(Message.to_address)
        ).all()
        return [(m.to_address, m.text_body.splitlines()[0], m.cause) for m in found]


def a_refused_delivery() -> tuple[uuid.UUID, delivery.Outcome]:
    server = SmtpServer(free_port(), RefusingInbox())
    server.start()
    try:
        message_id = a_pending_message()
        return message_id, deliver(message_id, smtp_mailer(server.port))
    finally:
        server.stop()


@pytest.mark.usefixtures("clean_databases")
def test_a_failed_delivery_is_told_to_each_known_coordinator_by_name(redis_client):
    consume(announcement(CORA, COLIN))

    message_id, outcome = a_refused_delivery()

    told = alerts("delivery_failed")
    assert [(address, greeting) for address, greeting, _ in told] == [
        ("colin@agency.example", "Dear Colin Coordinator,"),
        ("cora@agency.example", "Dear Cora Coordinator,"),
    ]
    assert all(cause.startswith(f"delivery_failed:{message_id}:coordinator:") for *_, cause in told)
    assert len(outcome.follow_up) == 2
    assert FALLBACK not in [address for address, *_ in told]


@pytest.mark.usefixtures("clean_databases")
def test_a_failed_delivery_goes_to_coordinator_email_while_no_coordinator_is_known():
    message_id, outcome = a_refused_delivery()

    assert alerts("delivery_failed") == [
        (FALLBACK, "Dear Alliance Coordinator,", f"delivery_failed:{message_id}")
    ]
    assert len(outcome.follow_up) == 1


def disable(endpoint_id: uuid.UUID) -> list[uuid.UUID]:
    with database.transaction() as session:
        return messages.webhook_disabled(
            session,
            endpoint_id=endpoint_id,
            url="https://hooks.example/in",
            description="Partner CRM",
            reason="HTTP 410 Gone",
            disabled_at=utcnow(),
            settings=load_settings(),
            profile=load_agency_profile(),
        )


@pytest.mark.usefixtures("clean_databases")
def test_a_disabled_webhook_is_told_to_each_known_coordinator_by_name(redis_client):
    consume(announcement(CORA, COLIN))

    created = disable(uuid.uuid4())

    told = alerts("webhook_disabled")
    assert [(address, greeting) for address, greeting, _ in told] == [
        ("colin@agency.example", "Dear Colin Coordinator,"),
        ("cora@agency.example", "Dear Cora Coordinator,"),
    ]
    assert len(created) == 2


@pytest.mark.usefixtures("clean_databases")
def test_a_disabled_webhook_goes_to_coordinator_email_while_no_coordinator_is_known():
    endpoint_id = uuid.uuid4()

    created = disable(endpoint_id)

    [(address, greeting, cause)] = alerts("webhook_disabled")
    assert (address, greeting) == (FALLBACK, "Dear Alliance Coordinator,")
    assert cause.startswith(f"webhook_disabled:{endpoint_id}:")
    assert cause.count(":coordinator") == 0
    assert len(created) == 1
