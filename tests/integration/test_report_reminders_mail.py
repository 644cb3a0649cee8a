"""Report reminders (``report.due_soon``, ``report.due``, ``report.overdue``,
``report.escalated``) as notify turns them into mail: against real PostgreSQL, Redis and a
real (in-process) SMTP server, each reminder once to the right people."""

import uuid
from datetime import date

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.notify.log import domain
from services.notify.models import Message
from services.notify.worker import database
from shared.events import new_event
from tests.factories import acting, deliver_queued_mail
from tests.helpers import queued_tasks
from tests.smtp import text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

PARTNER = "Roofers <b>& Sons</b>"
REFERENCE = "AP-2026-00042"
CONTACT = "dana@example.org"
LIAISON = "lee@agency.example"
COORDINATOR = "coordinator@agency.example"  # COORDINATOR_EMAIL in the tests (conftest.py)
DUE = date(2026, 7, 30)

ACTION = f"Action required: your quarterly report for {REFERENCE}"
SUBJECTS = {
    "report.due_soon": f"{ACTION} is due July 30, 2026",
    "report.due": f"{ACTION} is due today",
    "report.overdue": f"{ACTION} is overdue (due July 30, 2026)",
    "report.escalated": f"Action required: report overdue 30 days: {PARTNER} ({REFERENCE})",
}
# The liaison's copy: for information, the partner acts.
COPY = f"Copy: the quarterly report of {PARTNER} for {REFERENCE}"
COPY_SUBJECTS = {
    "report.due_soon": f"{COPY} is due July 30, 2026",
    "report.due": f"{COPY} is due today",
    "report.overdue": f"{COPY} is overdue (due July 30, 2026)",
}
DAYS = {"report.due_soon": -14, "report.due": 0, "report.overdue": 1, "report.escalated": 30}


def reminder(
    event_type, *, report_id=None, alliance_id=None, proposal_id=None, days=None, report_url=""
):
    """The event reporting's deadline sweep sends, as it reaches notify's queue."""
    return new_event(
        event_type,
        producer="reporting",
        payload={
            "report_id": report_id or uuid.uuid4(),
            "alliance_id": alliance_id or uuid.uuid4(),
            "proposal_id": proposal_id or uuid.uuid4(),
            "reference": REFERENCE,
            "partner_name": PARTNER,
            "contact": {"name": "Dana Smith", "email": CONTACT},
            "liaison": {"name": "Lee Liaison", "email": LIAISON},
            "kind": "quarterly",
            "term": 0,
            "period_start": date(2026, 4, 1),
            "period_end": date(2026, 6, 30),
            "due_date": DUE,
            "reminder": event_type.removeprefix("report."),
            "days": DAYS[event_type] if days is None else days,
            "report_url": report_url,
        },
    ).to_message()


def consume(message):
    """Run notify's consumer of the event, as its worker would."""
    consumer = "notify." + message["type"].replace(".", "_")
    services.notify.tasks.celery.tasks[consumer](event=message)


def stored():
    with database.transaction() as session:
        return sorted(session.scalars(select(Message)), key=lambda m: m.to_address)


def html_of(received):
    part = received.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def subject_of(received):
    """The subject as a mail client shows it: Python folds a long one onto its own line, and
    reads the fold's space back (a client trims it)."""
    return str(received["Subject"]).strip()


def plain(received):
    """The plain-text part with the line ends it was written with (SMTP sends CRLF)."""
    return text_of(received).replace("\r\n", "\n")


@pytest.mark.parametrize("event_type", ["report.due_soon", "report.due", "report.overdue"])
def test_a_reminder_goes_to_the_contact_with_a_copy_to_the_liaison(
    event_type, redis_client, smtp_server, monkeypatch
):
    url = "https://alliances.example/reporting/reports/r/abc?sig=1"
    consume(reminder(event_type, report_url=url))

    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]

    received = smtp_server.inbox.wait_for(lambda m: True, count=2)
    by_address = {m["To"]: m for m in received}
    assert sorted(by_address) == [CONTACT, LIAISON]
    assert subject_of(by_address[CONTACT]) == SUBJECTS[event_type]
    assert subject_of(by_address[LIAISON]) == COPY_SUBJECTS[event_type]
    for mail in by_address.values():
        assert mail["X-Alliance-Reference"] == REFERENCE
        text, html = plain(mail), html_of(mail)
        assert "- Period: April 1, 2026 through June 30, 2026\n" in text
        assert "- Due: July 30, 2026\n" in text
        assert "Lee Liaison (lee@agency.example)" in text
        assert "Period: April 1, 2026 through June 30, 2026" in html
    assert f'href="{url}"' in html_of(by_address[CONTACT])
    contact_text = plain(by_address[CONTACT])
    assert contact_text.startswith("Dear Dana Smith,\n\nThe quarterly report of the alliance")
    assert f"Fill in the report here:\n{url}\n" in contact_text
    liaison_text = plain(by_address[LIAISON])
    assert liaison_text.startswith(
        "Dear Lee Liaison,\n\nThis is your copy of the reminder sent to Dana Smith"
    )
    # The liaison's copy links the report's staff page, never the partner's signed link.
    assert "The report in the staff pages:\nhttp" in liaison_text
    assert "/reporting/staff/reports/" in liaison_text
    assert url not in liaison_text
    assert url not in html_of(by_address[LIAISON])
    rows = stored()
    assert [(m.to_address, m.status, m.template) for m in rows] == [
        (CONTACT, "sent", event_type.replace(".", "_")),
        (LIAISON, "sent", event_type.replace(".", "_")),
    ]
    assert {(m.reference, m.organization_key) for m in rows} == {(REFERENCE, "roofers b sons b")}


def test_without_a_form_link_the_contact_learns_the_liaison_sends_it(
    redis_client, smtp_server, monkeypatch
):
    consume(reminder("report.due_soon"))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    received = smtp_server.inbox.wait_for(lambda m: m["To"] == CONTACT)[0]
    assert "Your liaison, Lee Liaison, will send you the report form." in plain(received)
    assert "Your liaison, Lee Liaison, will send you the report form." in html_of(received)
    copy = smtp_server.inbox.wait_for(lambda m: m["To"] == LIAISON)[0]
    assert "The report form is not online yet: please send it to Dana Smith." in plain(copy)


def test_an_escalation_goes_to_the_coordinator_alone(redis_client, smtp_server, monkeypatch):
    alliance_id = uuid.uuid4()
    consume(
        reminder(
            "report.escalated",
            alliance_id=alliance_id,
            report_url="https://alliances.example/reporting/reports/r/abc?sig=1",
        )
    )

    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent"]

    [received] = smtp_server.inbox.wait_for(lambda m: True)
    assert received["To"] == COORDINATOR
    assert subject_of(received) == SUBJECTS["report.escalated"]
    text, html = plain(received), html_of(received)
    # No Coordinator announced by review: the placeholder address, greeted by the role.
    assert text.startswith(
        f"Dear Alliance Coordinator,\n\nThe quarterly report of {PARTNER} ({REFERENCE}) is 30 "
        "days overdue: it was due on July 30, 2026."
    )
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert "- Liaison: Lee Liaison (lee@agency.example)\n" in text
    assert f"/review/staff/alliances/{alliance_id}\n" in text
    assert "sig=1" not in text + html  # the partner's own link stays the partner's
    assert f'/review/staff/alliances/{alliance_id}"' in html
    assert [m.to_address for m in stored()] == [COORDINATOR]


def test_the_partner_name_is_escaped_in_html(redis_client, smtp_server, monkeypatch):
    consume(reminder("report.overdue"))
    consume(reminder("report.escalated"))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    received = smtp_server.inbox.wait_for(lambda m: True, count=3)
    for mail in received:
        html = html_of(mail)
        assert "<b>" not in html
        assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html
        assert PARTNER in plain(mail)


@pytest.mark.parametrize("event_type", sorted(SUBJECTS))
def test_the_same_reminder_twice_records_one_set_of_messages(event_type, redis_client):
    report_id = uuid.uuid4()
    message = reminder(event_type, report_id=report_id)

    consume(message)
    consume(message)  # a redelivery
    # The sweep sending the same reminder again, under a new event id, is the same cause too.
    consume(reminder(event_type, report_id=report_id))

    rows = stored()
    expected = [COORDINATOR] if event_type == "report.escalated" else [CONTACT, LIAISON]
    assert [m.to_address for m in rows] == expected
    assert rows[0].subject == SUBJECTS[event_type]
    if event_type != "report.escalated":
        assert rows[1].subject == COPY_SUBJECTS[event_type]
    assert [name for name, _ in queued_tasks(redis_client, "notify")] == [
        "notify.deliver_message"
    ] * len(expected)


def test_each_overdue_reminder_and_a_new_due_date_are_new_causes(redis_client):
    report_id = uuid.uuid4()
    consume(reminder("report.overdue", report_id=report_id, days=1))
    consume(reminder("report.overdue", report_id=report_id, days=14))

    assert [m.to_address for m in stored()] == [CONTACT, CONTACT, LIAISON, LIAISON]


def test_reminders_join_the_alliances_proposal_and_hide_from_conflicted_staff(redis_client):
    alliance_id, proposal_id = uuid.uuid4(), uuid.uuid4()
    with database.transaction() as session:  # what notify kept of the signing
        session.add(
            Message(
                cause=f"alliance.signed:{alliance_id}:contact",
                template="alliance_signed_partner",
                proposal_id=proposal_id,
                reference=REFERENCE,
                organization_key="roofers b sons b",
                to_address=CONTACT,
                subject="Your alliance with MIOSHA is signed",
                text_body="",
                html_body="",
            )
        )
    consume(reminder("report.due", alliance_id=alliance_id, proposal_id=proposal_id))
    # An alliance notify never heard of: the event itself names the proposal it came from.
    escalated = reminder("report.escalated")
    consume(escalated)

    reader = acting("riley@agency.example", "reviewer")
    conflicted = acting("cora@agency.example", "coordinator", conflicts=[PARTNER])
    with database.transaction() as session:
        log = domain.message_log(session, reader, proposal_id=proposal_id)
        assert sorted((m.template, m.to_address) for m in log) == [
            ("alliance_signed_partner", CONTACT),
            ("report_due", CONTACT),
            ("report_due", LIAISON),
        ]
        escalation = session.scalars(
            select(Message).where(Message.template == "report_escalated")
        ).one()
        assert str(escalation.proposal_id) == escalated["payload"]["proposal_id"]
        assert domain.message_log(session, conflicted) == []
        assert len(domain.message_log(session, reader)) == 4
