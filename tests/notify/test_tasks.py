"""A term's report calendar (``alliance.reports_scheduled``): reporting stores the event once,
in the transaction that adds the term's reports, with the partner's link to the first report
due; notify turns it into the signed-alliance welcome to the partner's contact and the liaison
(term 0) or the renewed term's calendar (term n), once per recipient and term, against real
PostgreSQL, Redis and a real (in-process) SMTP server.

Report reminders (``report.due_soon``, ``report.due``, ``report.overdue``,
``report.escalated``) as notify turns them into mail: against real PostgreSQL, Redis and a
real (in-process) SMTP server, each reminder once to the right people.

The partner's report and the liaison's review (``report.submitted``, ``report.accepted``,
``report.revision_requested``) as notify turns them into mail: against real PostgreSQL, Redis
and a real (in-process) SMTP server, each once to the right people.

Sharing an annual evaluation with the partner (``evaluation.shared``): reporting stores the
event once in the transaction that records ``shared_at``; notify mails the ratings and
justifications to the partner's contact with a copy to the liaison, once per evaluation and
recipient, against real PostgreSQL, Redis and a real (in-process) SMTP server; the alliance's
reports page links to each agreement year's evaluation page.

Every message to a partner's contact is in the language the contact chose (the receipt, the
decisions, the welcome and a renewed term's calendar with their ``.ics``, the reminders, the
report's receipt, review and new link, the evaluation, the alliance's renewal, conclusion,
termination and Ambassador designation); the liaison's copies and every staff message stay
English."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.notify.log import domain
from services.notify.models import Message
from services.notify.models import ProcessedEvent as NotifyProcessed
from services.notify.tasks import proposal_submitted as notify_proposal_submitted
from services.notify.worker import database as notify_database
from services.notify.worker import database as notify_db
from services.reporting.evaluations import domain as evaluations
from services.reporting.models import OutboxEvent
from services.reporting.reports import domain as reports
from services.reporting.worker import database, outbox
from shared.config import load_agency_profile
from shared.events import new_event, parse_event
from shared.testing import example_proposal
from tests.helpers import queued_tasks
from tests.intake.factories import submitted_event
from tests.notify.factories import deliver_queued_mail
from tests.reporting.factories import run_reporting_task
from tests.review.factories import LIAISON, acting_as, alliance_change_event, alliance_signed_event
from tests.shared.factories import acting
from tests.smtp import text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

PARTNER = "Roofers <b>& Sons</b>"
CONTACT = "dana@example.org"
SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)
RENEWED = date(2028, 1, 10)
RENEWAL_ENDS = date(2031, 1, 9)


def scheduled_events() -> list[dict[str, Any]]:
    """The ``alliance.reports_scheduled`` events in reporting's outbox, in order."""
    with database.transaction() as session:
        return [
            row.message
            for row in session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.type == "alliance.reports_scheduled")
                .order_by(OutboxEvent.id)
            )
        ]


@pytest.fixture
def signed(redis_client: Any) -> Any:
    event = alliance_signed_event(PARTNER, signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    return event


def renewal(signed: Any) -> Any:
    return alliance_change_event(
        signed,
        "alliance.renewed",
        renewal=1,
        signing_date=RENEWED,
        term_years=3,
        ends_on=RENEWAL_ENDS,
        previous_ends_on=ENDS,
    )


# -- notify: the messages --------------------------------------------------------------------


def consume(message: dict[str, Any]) -> None:
    services.notify.tasks.celery.tasks["notify.reports_scheduled"](event=message)


def stored() -> list[Message]:
    with notify_database.transaction() as session:
        found = sorted(session.scalars(select(Message)), key=lambda m: (m.cause, m.to_address))
        session.expunge_all()
        return found


def plain(received: Any) -> str:
    return text_of(received).replace("\r\n", "\n")


def html_of(received: Any) -> str:
    part = received.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def day(value: date) -> str:
    return value.strftime("%B %-d, %Y")


def calendar_lines(payload: dict[str, Any]) -> list[str]:
    return [
        f"- {r['kind'].capitalize()} report for {day(r['period_start'])} through "
        f"{day(r['period_end'])}: due {day(r['due_date'])}\n"
        for r in payload["reports"]
    ]


def test_the_welcome_carries_the_calendar_and_the_first_reports_link(
    signed, redis_client, smtp_server, monkeypatch
):
    [message] = scheduled_events()
    payload = parse_event(message).payload
    redis_client.delete("notify")  # what the outbox's nudge may have published
    consume(message)
    consume(message)  # a redelivery records nothing more

    rows = stored()
    alliance_id = signed.payload["alliance_id"]
    assert [(m.cause, m.template, m.to_address) for m in rows] == [
        (f"alliance.signed:{alliance_id}:contact", "alliance_signed_partner", CONTACT),
        (f"alliance.signed:{alliance_id}:liaison", "alliance_signed_liaison", LIAISON.email),
    ]
    assert {m.proposal_id for m in rows} == {signed.payload["proposal_id"]}
    assert {m.organization_key for m in rows} == {"roofers b sons b"}
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]

    received = smtp_server.inbox.wait_for(lambda m: True, count=2)
    by_address = {m["To"]: m for m in received}
    url = payload["report_url"]
    first_due = day(payload["reports"][0]["due_date"])

    partner = by_address[CONTACT]
    assert str(partner["Subject"]).strip() == (
        f"Your alliance with {load_agency_profile().name} is signed ({signed.payload['reference']})"
    )
    text, html = plain(partner), html_of(partner)
    assert text.startswith(f"Dear Dana Smith,\n\nThe alliance between {PARTNER} and ")
    assert f"- Signed: {day(SIGNED)}\n" in text
    assert f"- Term: 2 years, until {day(ENDS)}\n" in text
    assert f"- Your liaison: {LIAISON.name} ({LIAISON.email})\n" in text
    for line in calendar_lines(payload):
        assert line in text
    assert f"Fill in your first report (due {first_due}) here:\n{url}\n" in text
    assert "Each reminder of a report will carry the link to its form too." in text
    assert f'<a href="{url}">' in html
    assert "Each reminder of a report will carry the link to its form too." in html
    for r in payload["reports"]:
        assert f"{day(r['period_start'])} through {day(r['period_end'])}" in html
        assert day(r["due_date"]) in html
    assert "<b>" not in html
    assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html

    liaison = by_address[LIAISON.email]
    assert str(liaison["Subject"]).strip() == (
        f"Action required: you are the liaison for {PARTNER} ({signed.payload['reference']})"
    )
    text, html = plain(liaison), html_of(liaison)
    assert text.startswith(f"Dear {LIAISON.name},\n\nYou are the liaison for the alliance with")
    assert "Next step: meet the partner to set up the work plan" in text
    for line in calendar_lines(payload):
        assert line in text
    assert "Each report's reminders go to Dana Smith, with a copy to you." in text
    assert url not in text + html  # the partner's own link stays the partner's
    assert "<b>" not in html


def test_a_welcome_recorded_from_alliance_signed_is_not_sent_again(signed, redis_client):
    """A system upgraded mid-way: notify already welcomed the partner on ``alliance.signed``
    under the same causes, so the calendar's event records nothing more."""
    alliance_id = signed.payload["alliance_id"]
    with notify_database.transaction() as session:
        for role, template, address in (
            ("contact", "alliance_signed_partner", CONTACT),
            ("liaison", "alliance_signed_liaison", LIAISON.email),
        ):
            session.add(
                Message(
                    cause=f"alliance.signed:{alliance_id}:{role}",
                    template=template,
                    proposal_id=signed.payload["proposal_id"],
                    reference=signed.payload["reference"],
                    to_address=address,
                    subject="Welcome (sent before the upgrade)",
                    text_body="",
                    html_body="",
                )
            )
    redis_client.delete("notify")
    [message] = scheduled_events()
    consume(message)

    assert [m.subject for m in stored()] == ["Welcome (sent before the upgrade)"] * 2
    assert queued_tasks(redis_client, "notify") == []


def test_a_renewed_terms_calendar_goes_to_the_contact_and_the_liaison_once(
    signed, redis_client, smtp_server, monkeypatch
):
    run_reporting_task("reporting.alliance_renewed", renewal(signed))
    initial, renewed = scheduled_events()
    payload = parse_event(renewed).payload
    consume(initial)
    redis_client.delete("notify")
    consume(renewed)
    consume(renewed)  # a redelivery records nothing more

    alliance_id = signed.payload["alliance_id"]
    key = f"alliance.reports_scheduled:{alliance_id}:term1"
    renewal_rows = [m for m in stored() if m.cause.startswith(key)]
    assert [(m.cause, m.template, m.to_address) for m in renewal_rows] == [
        (f"{key}:contact", "alliance_term_calendar", CONTACT),
        (f"{key}:liaison", "alliance_term_calendar", LIAISON.email),
    ]
    assert len(stored()) == 4  # the welcome's two, the renewal's two
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]

    # The welcome's two, due as well though their tasks were dropped, go out with them.
    smtp_server.inbox.wait_for(lambda m: True, count=4)
    received = smtp_server.inbox.matching(
        lambda m: str(m["Subject"]).strip().startswith("The report calendar of the renewed")
    )
    assert len(received) == 2
    by_address = {m["To"]: m for m in received}
    for mail in received:
        assert (
            str(mail["Subject"])
            .strip()
            .startswith(f"The report calendar of the renewed alliance between {PARTNER}")
        )
        text = plain(mail)
        assert f"renewed from {day(RENEWED)} for 3 years (until {day(RENEWAL_ENDS)})" in text
        assert "The report calendar of the new term" in text
        for line in calendar_lines(payload):
            assert line in text
        assert "<b>" not in html_of(mail)
    partner_text = plain(by_address[CONTACT])
    assert partner_text.startswith("Dear Dana Smith,\n\n")
    assert f"here:\n{payload['report_url']}\n" in partner_text
    assert f'<a href="{payload["report_url"]}">' in html_of(by_address[CONTACT])
    liaison_text = plain(by_address[LIAISON.email])
    assert liaison_text.startswith(f"Dear {LIAISON.name},\n\n")
    assert payload["report_url"] not in liaison_text


REFERENCE = "AP-2026-00042"
LIAISON_REPORT_REMINDERS_MAIL = "lee@agency.example"
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
            "liaison": {"name": "Lee Liaison", "email": LIAISON_REPORT_REMINDERS_MAIL},
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


def consume_report_reminders_mail(message):
    """Run notify's consumer of the event, as its worker would."""
    consumer = "notify." + message["type"].replace(".", "_")
    services.notify.tasks.celery.tasks[consumer](event=message)


def stored_report_reminders_mail():
    with notify_database.transaction() as session:
        return sorted(session.scalars(select(Message)), key=lambda m: m.to_address)


def html_of_report_reminders_mail(received):
    part = received.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def subject_of(received):
    """The subject as a mail client shows it: Python folds a long one onto its own line, and
    reads the fold's space back (a client trims it)."""
    return str(received["Subject"]).strip()


def plain_report_reminders_mail(received):
    """The plain-text part with the line ends it was written with (SMTP sends CRLF)."""
    return text_of(received).replace("\r\n", "\n")


@pytest.mark.parametrize("event_type", ["report.due_soon", "report.due", "report.overdue"])
def test_a_reminder_goes_to_the_contact_with_a_copy_to_the_liaison(
    event_type, redis_client, smtp_server, monkeypatch
):
    url = "https://alliances.example/reporting/reports/r/abc?sig=1"
    consume_report_reminders_mail(reminder(event_type, report_url=url))

    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]

    received = smtp_server.inbox.wait_for(lambda m: True, count=2)
    by_address = {m["To"]: m for m in received}
    assert sorted(by_address) == [CONTACT, LIAISON_REPORT_REMINDERS_MAIL]
    assert subject_of(by_address[CONTACT]) == SUBJECTS[event_type]
    assert subject_of(by_address[LIAISON_REPORT_REMINDERS_MAIL]) == COPY_SUBJECTS[event_type]
    for mail in by_address.values():
        assert mail["X-Alliance-Reference"] == REFERENCE
        text, html = plain_report_reminders_mail(mail), html_of_report_reminders_mail(mail)
        assert "- Period: April 1, 2026 through June 30, 2026\n" in text
        assert "- Due: July 30, 2026\n" in text
        assert "Lee Liaison (lee@agency.example)" in text
        assert "Period: April 1, 2026 through June 30, 2026" in html
    assert f'href="{url}"' in html_of_report_reminders_mail(by_address[CONTACT])
    contact_text = plain_report_reminders_mail(by_address[CONTACT])
    assert contact_text.startswith("Dear Dana Smith,\n\nThe quarterly report of the alliance")
    assert f"Fill in the report here:\n{url}\n" in contact_text
    liaison_text = plain_report_reminders_mail(by_address[LIAISON_REPORT_REMINDERS_MAIL])
    assert liaison_text.startswith(
        "Dear Lee Liaison,\n\nThis is your copy of the reminder sent to Dana Smith"
    )
    # The liaison's copy links the report's staff page, never the partner's signed link.
    assert "The report in the staff pages:\nhttp" in liaison_text
    assert "/reporting/staff/reports/" in liaison_text
    assert url not in liaison_text
    assert url not in html_of_report_reminders_mail(by_address[LIAISON_REPORT_REMINDERS_MAIL])
    rows = stored_report_reminders_mail()
    assert [(m.to_address, m.status, m.template) for m in rows] == [
        (CONTACT, "sent", event_type.replace(".", "_")),
        (LIAISON_REPORT_REMINDERS_MAIL, "sent", event_type.replace(".", "_")),
    ]
    assert {(m.reference, m.organization_key) for m in rows} == {(REFERENCE, "roofers b sons b")}


def test_without_a_form_link_the_contact_learns_the_liaison_sends_it(
    redis_client, smtp_server, monkeypatch
):
    consume_report_reminders_mail(reminder("report.due_soon"))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    received = smtp_server.inbox.wait_for(lambda m: m["To"] == CONTACT)[0]
    assert (
        "Your liaison, Lee Liaison, will send you the report form."
        in plain_report_reminders_mail(received)
    )
    assert (
        "Your liaison, Lee Liaison, will send you the report form."
        in html_of_report_reminders_mail(received)
    )
    copy = smtp_server.inbox.wait_for(lambda m: m["To"] == LIAISON_REPORT_REMINDERS_MAIL)[0]
    assert (
        "The report form is not online yet: please send it to Dana Smith."
        in plain_report_reminders_mail(copy)
    )


def test_an_escalation_goes_to_the_coordinator_alone(redis_client, smtp_server, monkeypatch):
    alliance_id = uuid.uuid4()
    consume_report_reminders_mail(
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
    text, html = plain_report_reminders_mail(received), html_of_report_reminders_mail(received)
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
    assert [m.to_address for m in stored_report_reminders_mail()] == [COORDINATOR]


def test_the_partner_name_is_escaped_in_html(redis_client, smtp_server, monkeypatch):
    consume_report_reminders_mail(reminder("report.overdue"))
    consume_report_reminders_mail(reminder("report.escalated"))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    received = smtp_server.inbox.wait_for(lambda m: True, count=3)
    for mail in received:
        html = html_of_report_reminders_mail(mail)
        assert "<b>" not in html
        assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html
        assert PARTNER in plain_report_reminders_mail(mail)


@pytest.mark.parametrize("event_type", sorted(SUBJECTS))
def test_the_same_reminder_twice_records_one_set_of_messages(event_type, redis_client):
    report_id = uuid.uuid4()
    message = reminder(event_type, report_id=report_id)

    consume_report_reminders_mail(message)
    consume_report_reminders_mail(message)  # a redelivery
    # The sweep sending the same reminder again, under a new event id, is the same cause too.
    consume_report_reminders_mail(reminder(event_type, report_id=report_id))

    rows = stored_report_reminders_mail()
    expected = (
        [COORDINATOR]
        if event_type == "report.escalated"
        else [CONTACT, LIAISON_REPORT_REMINDERS_MAIL]
    )
    assert [m.to_address for m in rows] == expected
    assert rows[0].subject == SUBJECTS[event_type]
    if event_type != "report.escalated":
        assert rows[1].subject == COPY_SUBJECTS[event_type]
    assert [name for name, _ in queued_tasks(redis_client, "notify")] == [
        "notify.deliver_message"
    ] * len(expected)


def test_each_overdue_reminder_and_a_new_due_date_are_new_causes(redis_client):
    report_id = uuid.uuid4()
    consume_report_reminders_mail(reminder("report.overdue", report_id=report_id, days=1))
    consume_report_reminders_mail(reminder("report.overdue", report_id=report_id, days=14))

    assert [m.to_address for m in stored_report_reminders_mail()] == [
        CONTACT,
        CONTACT,
        LIAISON_REPORT_REMINDERS_MAIL,
        LIAISON_REPORT_REMINDERS_MAIL,
    ]


def test_reminders_join_the_alliances_proposal_and_hide_from_conflicted_staff(redis_client):
    alliance_id, proposal_id = uuid.uuid4(), uuid.uuid4()
    with notify_database.transaction() as session:  # what notify kept of the signing
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
    consume_report_reminders_mail(
        reminder("report.due", alliance_id=alliance_id, proposal_id=proposal_id)
    )
    # An alliance notify never heard of: the event itself names the proposal it came from.
    escalated = reminder("report.escalated")
    consume_report_reminders_mail(escalated)

    reader = acting("riley@agency.example", "reviewer")
    conflicted = acting("cora@agency.example", "coordinator", conflicts=[PARTNER])
    with notify_database.transaction() as session:
        log = domain.message_log(session, reader, proposal_id=proposal_id)
        assert sorted((m.template, m.to_address) for m in log) == [
            ("alliance_signed_partner", CONTACT),
            ("report_due", CONTACT),
            ("report_due", LIAISON_REPORT_REMINDERS_MAIL),
        ]
        escalation = session.scalars(
            select(Message).where(Message.template == "report_escalated")
        ).one()
        assert str(escalation.proposal_id) == escalated["payload"]["proposal_id"]
        assert domain.message_log(session, conflicted) == []
        assert len(domain.message_log(session, reader)) == 4


LIAISON_REPORT_REVIEW_MAIL = "lee@agency.example"
LINK = "https://alliances.example/reporting/reports/abc?sig=1"
COMMENTS = "Add the <script>alert(1)</script> rows & dates.\nSecond line"

SUBJECTS_REPORT_REVIEW_MAIL = {
    ("report.submitted", LIAISON_REPORT_REVIEW_MAIL): (
        f"Action required: review the quarterly report from {PARTNER} ({REFERENCE})"
    ),
    ("report.submitted", CONTACT): f"We received your quarterly report for {REFERENCE}",
    ("report.accepted", CONTACT): f"Your quarterly report for {REFERENCE} was accepted",
    ("report.revision_requested", CONTACT): (
        f"Action required: please revise your quarterly report for {REFERENCE} by August 17, 2026"
    ),
    ("report.revision_requested", LIAISON_REPORT_REVIEW_MAIL): (  # a copy: the partner acts
        f"Copy: revision of the quarterly report of {PARTNER} for {REFERENCE} requested by "
        "August 17, 2026"
    ),
}
RECIPIENTS = {
    "report.submitted": [CONTACT, LIAISON_REPORT_REVIEW_MAIL],
    "report.accepted": [CONTACT],
    "report.revision_requested": [CONTACT, LIAISON_REPORT_REVIEW_MAIL],
}


def report_event(
    event_type, *, report_id=None, alliance_id=None, proposal_id=None, version=1, on_time=True
):
    """The event reporting sends, as it reaches notify's queue."""
    payload = {
        "report_id": report_id or uuid.uuid4(),
        "alliance_id": alliance_id or uuid.uuid4(),
        "proposal_id": proposal_id or uuid.uuid4(),
        "reference": REFERENCE,
        "partner_name": PARTNER,
        "contact": {"name": "Dana Smith", "email": CONTACT},
        "liaison": {"name": "Lee Liaison", "email": LIAISON_REPORT_REVIEW_MAIL},
        "kind": "quarterly",
        "term": 0,
        "period_start": date(2026, 4, 1),
        "period_end": date(2026, 6, 30),
        "version": version,
    }
    if event_type == "report.submitted":
        payload |= {
            "due_date": date(2026, 7, 30),
            "submitted_at": datetime(2026, 7, 29, 15, 4, tzinfo=UTC),
            "on_time": on_time,
        }
    else:
        revision = event_type == "report.revision_requested"
        payload |= {
            "comments": COMMENTS if revision else "",
            "due_date": date(2026, 8, 17) if revision else date(2026, 7, 30),
            "report_url": LINK if revision else "",
            "reviewed_by": LIAISON_REPORT_REVIEW_MAIL,
            "reviewed_at": datetime(2026, 8, 3, 14, 0, tzinfo=UTC),
        }
    return new_event(event_type, producer="reporting", payload=payload).to_message()


def consume_report_review_mail(message):
    """Run notify's consumer of the event, as its worker would."""
    consumer = "notify." + message["type"].replace(".", "_")
    services.notify.tasks.celery.tasks[consumer](event=message)


def stored_report_review_mail():
    with notify_database.transaction() as session:
        return sorted(session.scalars(select(Message)), key=lambda m: m.to_address)


def html_of_report_review_mail(received):
    part = received.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # SMTP sends CRLF


def subject_of_report_review_mail(received):
    return str(received["Subject"]).strip()


def plain_report_review_mail(received):
    return text_of(received).replace("\r\n", "\n")


@pytest.mark.parametrize("event_type", sorted(RECIPIENTS))
def test_each_event_mails_the_expected_people_once(
    event_type, redis_client, smtp_server, monkeypatch
):
    consume_report_review_mail(report_event(event_type))

    expected = RECIPIENTS[event_type]
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent"] * len(expected)

    received = smtp_server.inbox.wait_for(lambda m: True, count=len(expected))
    by_address = {m["To"]: m for m in received}
    assert sorted(by_address) == expected
    for address, mail in by_address.items():
        assert (
            subject_of_report_review_mail(mail)
            == SUBJECTS_REPORT_REVIEW_MAIL[(event_type, address)]
        )
        assert mail["X-Alliance-Reference"] == REFERENCE
        assert "Period: April 1, 2026 through June 30, 2026" in plain_report_review_mail(mail)
        assert "Period: April 1, 2026 through June 30, 2026" in html_of_report_review_mail(mail)
    rows = stored_report_review_mail()
    assert [(m.to_address, m.status) for m in rows] == [(a, "sent") for a in expected]
    assert {(m.reference, m.organization_key) for m in rows} == {(REFERENCE, "roofers b sons b")}


def test_a_submission_asks_the_liaison_to_review_and_gives_the_contact_a_receipt(
    redis_client, smtp_server, monkeypatch
):
    report_id = uuid.uuid4()
    consume_report_review_mail(
        report_event("report.submitted", report_id=report_id, version=2, on_time=False)
    )
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    staff_page = f"/reporting/staff/reports/{report_id}"
    [liaison] = smtp_server.inbox.wait_for(lambda m: m["To"] == LIAISON_REPORT_REVIEW_MAIL)
    text, html = plain_report_review_mail(liaison), html_of_report_review_mail(liaison)
    assert text.startswith(f"Dear Lee Liaison,\n\n{PARTNER} submitted the quarterly report")
    assert "- Version: 2 (a resubmission)\n" in text
    assert "- Late: it was due on July 30, 2026\n" in text
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert f"{staff_page}\n" in text
    assert f'{staff_page}">Review the report</a>' in html
    [receipt] = smtp_server.inbox.wait_for(lambda m: m["To"] == CONTACT)
    text = plain_report_review_mail(receipt)
    assert text.startswith("Dear Dana Smith,\n\nWe received the quarterly report")
    assert "- Version: 2\n" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert staff_page not in text + html_of_report_review_mail(receipt)


def test_an_acceptance_goes_to_the_contact_alone(redis_client, smtp_server, monkeypatch):
    consume_report_review_mail(report_event("report.accepted"))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    [mail] = smtp_server.inbox.wait_for(lambda m: True)
    assert mail["To"] == CONTACT
    assert "accepted the quarterly report" in plain_report_review_mail(mail)
    assert "accepted the quarterly report" in html_of_report_review_mail(mail)


def test_a_revision_request_carries_the_escaped_comments_the_date_and_the_link(
    redis_client, smtp_server, monkeypatch
):
    consume_report_review_mail(report_event("report.revision_requested"))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    [contact] = smtp_server.inbox.wait_for(lambda m: m["To"] == CONTACT)
    text, html = plain_report_review_mail(contact), html_of_report_review_mail(contact)
    assert f"Your liaison's comments:\n\n{COMMENTS}\n" in text
    assert "<script>" not in html
    assert (
        "Add the &lt;script&gt;alert(1)&lt;/script&gt; rows &amp; dates.<br>\nSecond line"
    ) in html
    assert "- New due date: August 17, 2026\n" in text
    assert f"Revise and resubmit the report here:\n{LINK}\n" in text
    assert f'href="{LINK}"' in html
    [copy] = smtp_server.inbox.wait_for(lambda m: m["To"] == LIAISON_REPORT_REVIEW_MAIL)
    text = plain_report_review_mail(copy)
    assert text.startswith(
        "Dear Lee Liaison,\n\nThis is your copy of the revision request sent to Dana Smith"
    )
    # The liaison's copy links the report's staff page, never the partner's signed link.
    assert "The report in the staff pages:\nhttp" in text
    assert "/reporting/staff/reports/" in text
    assert LINK not in text
    assert LINK not in html_of_report_review_mail(copy)
    assert "<script>" not in html_of_report_review_mail(copy)


@pytest.mark.parametrize("event_type", sorted(RECIPIENTS))
def test_the_same_event_twice_records_one_set_of_messages(event_type, redis_client):
    report_id = uuid.uuid4()
    message = report_event(event_type, report_id=report_id)

    consume_report_review_mail(message)
    consume_report_review_mail(message)  # a redelivery
    # Reporting sending the same thing again, under a new event id, is the same cause too.
    consume_report_review_mail(report_event(event_type, report_id=report_id))

    expected = RECIPIENTS[event_type]
    assert [m.to_address for m in stored_report_review_mail()] == expected
    assert [name for name, _ in queued_tasks(redis_client, "notify")] == [
        "notify.deliver_message"
    ] * len(expected)


def test_a_new_version_or_another_outcome_is_a_new_cause(redis_client):
    report_id = uuid.uuid4()
    consume_report_review_mail(report_event("report.submitted", report_id=report_id, version=1))
    consume_report_review_mail(
        report_event("report.revision_requested", report_id=report_id, version=1)
    )
    consume_report_review_mail(report_event("report.submitted", report_id=report_id, version=2))
    consume_report_review_mail(report_event("report.accepted", report_id=report_id, version=2))

    assert sorted(m.cause for m in stored_report_review_mail()) == sorted(
        [
            f"report.submitted:{report_id}:v1:contact",
            f"report.submitted:{report_id}:v1:liaison",
            f"report.revision_requested:{report_id}:v1:contact",
            f"report.revision_requested:{report_id}:v1:liaison",
            f"report.submitted:{report_id}:v2:contact",
            f"report.submitted:{report_id}:v2:liaison",
            f"report.accepted:{report_id}:v2:contact",
        ]
    )


def test_review_messages_join_the_alliances_proposal_and_hide_from_conflicted_staff(
    redis_client,
):
    alliance_id, proposal_id = uuid.uuid4(), uuid.uuid4()
    with notify_database.transaction() as session:  # what notify kept of the signing
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
    consume_report_review_mail(
        report_event("report.submitted", alliance_id=alliance_id, proposal_id=proposal_id)
    )
    consume_report_review_mail(
        report_event("report.accepted", alliance_id=alliance_id, proposal_id=proposal_id)
    )

    reader = acting("riley@agency.example", "reviewer")
    conflicted = acting("cora@agency.example", "coordinator", conflicts=[PARTNER])
    with notify_database.transaction() as session:
        log = domain.message_log(session, reader, proposal_id=proposal_id)
        assert sorted((m.template, m.to_address) for m in log) == [
            ("alliance_signed_partner", CONTACT),
            ("report_accepted", CONTACT),
            ("report_submitted_liaison", LIAISON_REPORT_REVIEW_MAIL),
            ("report_submitted_receipt", CONTACT),
        ]
        assert domain.message_log(session, conflicted) == []


SIGNED_EVALUATION_SHARED = date(2024, 1, 15)
ENDS_EVALUATION_SHARED = date(2027, 1, 14)
AT = datetime(2026, 6, 1, 15, tzinfo=UTC)
JUSTIFICATION = "Met <script>alert(1)</script> & more.\nSecond line"


@pytest.fixture
def signed_evaluation_shared(redis_client: Any) -> Any:
    event = alliance_signed_event(
        "Roofers <b>& Sons</b>",
        signing_date=SIGNED_EVALUATION_SHARED,
        ends_on=ENDS_EVALUATION_SHARED,
    )
    run_reporting_task("reporting.alliance_signed", event)
    return event


def ratings() -> dict[str, dict[str, str]]:
    given = {
        key: {"rating": "meets", "justification": f"Seen in the reports ({key})."}
        for key in evaluations.REQUIREMENTS
    }
    given["team_meets"] = {"rating": "meets_in_part", "justification": JUSTIFICATION}
    given["work_plan"] = {"rating": "not_applicable", "justification": ""}
    return given


def record_and_share(alliance_id: uuid.UUID, *, times: int = 1) -> None:
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=acting_as(LIAISON),
            alliance_id=alliance_id,
            term=0,
            year=2,
            ratings=ratings(),
            at=AT,
        )
    for _ in range(times):
        with database.transaction() as session:
            evaluations.share_evaluation(
                session,
                acting=acting_as(LIAISON),
                alliance_id=alliance_id,
                term=0,
                year=2,
                at=AT,
                outbox=outbox,
            )


def shared_events() -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [
            row.message
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "evaluation.shared")
            )
        ]


def consume_evaluation_shared(message: dict[str, Any]) -> None:
    services.notify.tasks.celery.tasks["notify.evaluation_shared"](event=message)


def stored_evaluation_shared() -> list[Message]:
    with notify_database.transaction() as session:
        found = sorted(session.scalars(select(Message)), key=lambda m: m.to_address)
        session.expunge_all()
        return found


def test_notify_mails_the_contact_and_the_liaison_once(
    signed_evaluation_shared, redis_client, smtp_server, monkeypatch
):
    record_and_share(signed_evaluation_shared.payload["alliance_id"])
    [message] = shared_events()
    redis_client.delete("notify")  # what the outbox's nudge may have published

    consume_evaluation_shared(message)
    consume_evaluation_shared(message)  # a redelivery

    rows = stored_evaluation_shared()
    assert [m.to_address for m in rows] == [CONTACT, LIAISON.email]
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]
    received = smtp_server.inbox.wait_for(lambda m: True, count=2)
    by_address = {m["To"]: m for m in received}
    assert sorted(by_address) == [CONTACT, LIAISON.email]
    reference = signed_evaluation_shared.payload["reference"]
    for mail in by_address.values():
        assert str(mail["Subject"]).strip() == (
            f"Your alliance's annual evaluation for {reference} (year 2)"
        )
        text, html = text_of(mail).replace("\r\n", "\n"), html_of(mail)
        assert "- The implementation team meets regularly: Meets in part\n" in text
        assert "  Met <script>alert(1)</script> & more.\n  Second line\n" in text
        assert "- The work plan is kept current: Not applicable\n" in text
        assert "January 15, 2025 through January 14, 2026" in text
        assert "<script>" not in html
        assert "Met &lt;script&gt;alert(1)&lt;/script&gt; &amp; more.<br>\nSecond line" in html
        assert "Meets in part" in html
        assert "Seen in the reports (reports_on_time)." in html
        assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html
    assert (
        text_of(by_address[LIAISON.email])
        .replace("\r\n", "\n")
        .startswith(
            f"Dear {LIAISON.name},\n\nThis is your copy of the annual evaluation sent to Dana Smith"
        )
    )
    assert text_of(by_address[CONTACT]).startswith("Dear Dana Smith,")
    assert [m.status for m in stored_evaluation_shared()] == ["sent", "sent"]


def rows(database, model):
    with database.transaction() as session:
        return list(session.scalars(select(model)))


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


def test_a_contact_who_chose_spanish_gets_the_receipt_in_spanish(redis_client):
    data = example_proposal()
    data["contact"]["language"] = "es"
    message = submitted_event(data).to_message()

    notify_proposal_submitted(event=message)

    receipt, alert = (
        next(m for m in rows(notify_db, Message) if m.template == template)
        for template in ("proposal_receipt", "proposal_coordinator_alert")
    )
    reference = message["payload"]["reference"]
    assert receipt.subject == f"Recibimos su propuesta de alianza {reference}"
    assert receipt.text_body.startswith("Estimado/a Dana Smith:")
    assert "Su número de referencia es" in receipt.text_body
    assert "Divulgación y comunicación:" in receipt.text_body  # the goal's category
    assert '<html lang="es">' in receipt.html_body
    footer = "Programa de Alianzas de MIOSHA. Este mensaje se envió automáticamente"
    assert footer in receipt.html_body
    # Staff read English, whatever the partner reads.
    assert alert.subject.startswith("Action required:")


def test_a_spanish_reading_partner_gets_the_decision_welcome_calendar_and_reminders_in_spanish(
    redis_client,
):
    # The decision: the approval letter (held for staff, in Spanish).
    approved = new_event(
        "proposal.approved",
        producer="review",
        payload={
            "proposal_id": uuid.uuid4(),
            "reference": "AP-2026-00077",
            "version": 1,
            "contact_name": "Dana Smith",
            "contact_email": "dana@example.org",
            "organization_name": "Techadores Unidos",
            "contact_language": "es",
            "alliance_id": uuid.uuid4(),
            "division": "construction_safety_health",
            "division_label": "Construction Safety & Health",
            "term_years": 3,
            "decided_at": datetime.now(UTC),
        },
    ).to_message()
    services.notify.tasks.celery.tasks["notify.proposal_approved"](event=approved)
    [letter] = [m for m in stored() if m.template == "decision_approved"]
    assert letter.subject == "Su propuesta de alianza AP-2026-00077 fue aprobada"
    assert "Responsable: Seguridad y Salud en la Construcción" in letter.text_body
    assert "Vigencia inicial: 3 años, a partir del día en que se firme el acuerdo" in (
        letter.text_body
    )

    # The welcome with its calendar: the contact's in Spanish, the liaison's in English.
    signed = alliance_signed_event(
        "Techadores Unidos", signing_date=SIGNED, ends_on=ENDS, language="es"
    )
    run_reporting_task("reporting.alliance_signed", signed)
    [scheduled] = scheduled_events()
    consume(scheduled)
    welcome = {m.template: m for m in stored() if m.template.startswith("alliance_signed")}
    partner, liaison = welcome["alliance_signed_partner"], welcome["alliance_signed_liaison"]
    assert partner.subject.startswith("Su alianza con MIOSHA está firmada")
    assert "Firmada: 15 de enero de 2026" in partner.text_body
    assert "Vigencia: 2 años, hasta el 14 de enero de 2028" in partner.text_body
    assert "El calendario de informes (" in partner.text_body
    assert "SUMMARY:Vence el informe trimestral: alianza de Techadores Unidos" in (
        partner.calendar.replace("\r\n ", "")
    )
    assert liaison.subject.startswith("Action required: you are the liaison")

    # A reminder: on the due date, in Spanish to the contact, in English to the liaison.
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        reports.sweep(session, now=datetime.combine(first.due_date, time(15), UTC), outbox=outbox)
        [due] = [r.message for r in session.scalars(select(OutboxEvent)) if r.type == "report.due"]
    services.notify.tasks.celery.tasks["notify.report_due"](event=due)
    reminders = {m.to_address: m for m in stored() if m.template == "report_due"}
    assert reminders["dana@example.org"].subject.startswith(
        "Acción requerida: su informe trimestral de"
    )
    assert "vence hoy" in reminders["dana@example.org"].text_body
    assert reminders[LIAISON.email].subject.startswith("Copy: the quarterly report")


@pytest.mark.parametrize(
    ("event_type", "fields", "subject"),
    [
        (
            "proposal.changes_requested",
            {"message": "Añada una medida.", "requested_at": datetime.now(UTC)},
            "Acción requerida: se piden cambios a su propuesta de alianza AP-2026-00078",
        ),
        (
            "proposal.declined",
            {"reason": "Fuera de nuestras prioridades.", "decided_at": datetime.now(UTC)},
            "Decisión sobre su propuesta de alianza AP-2026-00078",
        ),
    ],
)
def test_the_other_decisions_and_the_draft_link_are_in_the_contact_s_language(
    redis_client, event_type, fields, subject
):
    decided = new_event(
        event_type,
        producer="review",
        payload={
            "proposal_id": uuid.uuid4(),
            "reference": "AP-2026-00078",
            "version": 1,
            "contact_name": "Dana Smith",
            "contact_email": "dana@example.org",
            "organization_name": "Techadores Unidos",
            "contact_language": "es",
            **fields,
        },
    ).to_message()
    task = {
        "proposal.changes_requested": "notify.changes_requested",
        "proposal.declined": "notify.proposal_declined",
    }[event_type]
    services.notify.tasks.celery.tasks[task](event=decided)
    [letter] = [m for m in stored() if m.template.startswith("decision_")]
    assert letter.subject == subject
    assert letter.text_body.startswith("Estimado/a Dana Smith:")

    draft = new_event(
        "proposal.draft_saved",
        producer="intake",
        payload={
            "proposal_id": uuid.uuid4(),
            "contact_name": "Dana Smith",
            "contact_email": "dana@example.org",
            "organization_name": "Techadores Unidos",
            "resume_url": "https://alliance.example/apply/resume/x",
            "saved_at": datetime.now(UTC),
            "expires_at": datetime(2027, 1, 6, 12, tzinfo=UTC),
            "contact_language": "es",
        },
    ).to_message()
    services.notify.tasks.celery.tasks["notify.draft_saved"](event=draft)
    [link] = [m for m in stored() if m.template == "draft_link"]
    assert link.subject == "El borrador guardado de su propuesta de alianza para Techadores Unidos"
    assert "El enlace funciona hasta el 6 de enero de 2027." in link.text_body


def report_payload(**fields: Any) -> dict[str, Any]:
    return {
        "report_id": uuid.uuid4(),
        "alliance_id": uuid.uuid4(),
        "proposal_id": uuid.uuid4(),
        "reference": "AP-2026-00079",
        "partner_name": "Techadores Unidos",
        "contact": {"name": "Dana Smith", "email": "dana@example.org", "language": "es"},
        "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
        "kind": "annual",
        "term": 0,
        "period_start": date(2026, 1, 15),
        "period_end": date(2027, 1, 14),
        "version": 1,
        **fields,
    }


def test_the_report_receipt_acceptance_and_revision_request_are_in_the_contact_s_language(
    redis_client,
):
    submitted = new_event(
        "report.submitted",
        producer="reporting",
        payload=report_payload(
            due_date=date(2027, 3, 15), submitted_at=datetime.now(UTC), on_time=True
        ),
    ).to_message()
    services.notify.tasks.celery.tasks["notify.report_submitted"](event=submitted)
    accepted = new_event(
        "report.accepted",
        producer="reporting",
        payload=report_payload(
            due_date=date(2027, 3, 15),
            comments="",
            report_url="",
            reviewed_by="lee@agency.example",
            reviewed_at=datetime.now(UTC),
        ),
    ).to_message()
    services.notify.tasks.celery.tasks["notify.report_accepted"](event=accepted)
    revision = new_event(
        "report.revision_requested",
        producer="reporting",
        payload=report_payload(
            due_date=date(2027, 4, 1),
            comments="Add the people reached.",
            report_url="",
            reviewed_by="lee@agency.example",
            reviewed_at=datetime.now(UTC),
        ),
    ).to_message()
    services.notify.tasks.celery.tasks["notify.report_revision_requested"](event=revision)
    to_contact = {m.template: m for m in stored() if m.to_address == "dana@example.org"}
    assert to_contact["report_submitted_receipt"].subject == (
        "Recibimos su informe anual de AP-2026-00079"
    )
    assert to_contact["report_accepted"].subject == "Se aceptó su informe anual de AP-2026-00079"
    revise = to_contact["report_revision_requested"]
    assert revise.subject == (
        "Acción requerida: revise su informe anual de AP-2026-00079 antes del 1 de abril de 2027"
    )
    assert "Los comentarios de su enlace:" in revise.text_body
    [copy] = [
        m
        for m in stored()
        if m.to_address == "lee@agency.example" and m.template == "report_revision_requested"
    ]
    assert copy.subject.startswith("Copy: revision of the annual report")


# -- every message to a partner's contact in their language ----------------------------------

# What a partner's contact receives: each of these in the contact's language; every other
# message (to staff) in English.
PARTNER_TEMPLATES = {
    "proposal_receipt",
    "draft_link",
    "decision_approved",
    "decision_changes_requested",
    "decision_declined",
    "alliance_signed_partner",
    "alliance_term_calendar",
    "alliance_renewed",
    "alliance_concluded",
    "alliance_terminated",
    "alliance_ambassador",
    "report_due_soon",
    "report_due",
    "report_overdue",
    "report_submitted_receipt",
    "report_accepted",
    "report_revision_requested",
    "report_link",
    "evaluation_shared",
}
SPANISH_PARTNER = "Techadores Unidos"
# Words of an English sentence; none is a Spanish word.
ENGLISH_WORDS = re.compile(
    r"\b(?:the|your|you|of|and|for|is|are|to|by|on|with|was|has|report|reports|alliance|dear|"
    r"due|thank|liaison|partner|term|renewed|link|please|action|required|copy|notice|"
    r"evaluation|rating|meets|program|team)\b",
    re.IGNORECASE,
)


def english_left(text: str, *kept: str) -> list[str]:
    """The English words in ``text`` (a message's subject, text or HTML) once the names, the
    addresses, the links and the HTML tags in it are taken out: none in a Spanish message."""
    for value in (*kept, SPANISH_PARTNER, "Dana Smith", LIAISON.name, "MIOSHA"):
        text = text.replace(value, " ")
    text = re.sub(r"<[^>]*>|https?://\S+|\S+@\S+", " ", text)
    return ENGLISH_WORDS.findall(text)


def check_spanish(message: Message, *kept: str) -> None:
    assert english_left(message.subject, *kept) == [], message.subject
    assert english_left(message.text_body, *kept) == [], message.text_body
    assert english_left(message.html_body, *kept) == []
    assert '<html lang="es">' in message.html_body
    # The profile's signature closes it in Spanish too.
    assert message.text_body.rstrip().endswith(
        "-- \nEl equipo del Programa de Alianzas de MIOSHA\n"
        "División de Consulta, Educación y Capacitación"
    )


def check_english(message: Message) -> None:
    assert '<html lang="en">' in message.html_body
    assert "Estimado" not in message.text_body
    assert message.text_body.startswith("Dear ")


def test_every_message_a_partner_contact_receives_is_translated() -> None:
    from services.notify.messages.render import TRANSLATED

    assert TRANSLATED == PARTNER_TEMPLATES


@pytest.mark.parametrize("template", sorted(PARTNER_TEMPLATES))
def test_a_partner_message_marks_every_word_it_says(template: str) -> None:
    from pathlib import Path

    from tests.shared.test_i18n import unmarked_text

    folder = Path(services.notify.tasks.__file__).parent / "templates" / "email"
    for part in ("subject.txt", "txt", "html"):
        assert unmarked_text((folder / f"{template}.{part}").read_text(encoding="utf-8")) == []
    for partial in folder.glob("_*"):
        assert unmarked_text(partial.read_text(encoding="utf-8")) == [], partial.name


def test_a_staff_message_is_wholly_english_whatever_language_is_asked() -> None:
    from services.notify.messages.render import TRANSLATED, render

    assert "report_submitted_liaison" not in TRANSLATED
    subject, text, html = render(
        "report_submitted_liaison",
        {
            "agency": "MIOSHA",
            "signature": "The MIOSHA Alliance Program team\n"
            "Consultation, Education and Training Division",
            "logo_url": "",
            **report_payload(
                partner_name=SPANISH_PARTNER,
                due_date=date(2027, 3, 15),
                submitted_at=datetime(2027, 3, 1, 15, tzinfo=UTC),
                on_time=True,
            ),
            "review_url": "http://127.0.0.1:8000/reporting/staff/reports/1",
        },
        language="es",
    )
    assert subject == (
        "Action required: review the annual report from Techadores Unidos (AP-2026-00079)"
    )
    assert '<html lang="en">' in html
    assert "Este mensaje" not in html
    assert text.rstrip().endswith(
        "-- \nThe MIOSHA Alliance Program team\nConsultation, Education and Training Division"
    )


def test_a_signature_the_agency_wrote_stays_as_written_in_spanish() -> None:
    from services.notify.messages.render import signature_in

    written = "Pat Doe\nAlliance Coordinator, MIOSHA"
    assert signature_in(written, agency="MIOSHA", language="es") == written
    assert signature_in(
        "The OSHA Alliance Program team\nU.S. Department of Labor", agency="OSHA", language="es"
    ) == ("El equipo del Programa de Alianzas de OSHA\nDepartamento de Trabajo de los EE. UU.")


def unfolded(calendar: str) -> str:
    """An .ics text with its folded lines joined."""
    return calendar.replace("\r\n ", "")


def test_a_spanish_reading_contact_gets_the_renewed_terms_calendar_in_spanish(redis_client):
    signed = alliance_signed_event(
        SPANISH_PARTNER, signing_date=SIGNED, ends_on=ENDS, language="es"
    )
    run_reporting_task("reporting.alliance_signed", signed)
    run_reporting_task("reporting.alliance_renewed", renewal(signed))
    initial, renewed = scheduled_events()
    consume(initial)
    consume(renewed)

    reference = signed.payload["reference"]
    sent = {m.to_address: m for m in stored() if m.template == "alliance_term_calendar"}
    partner, liaison = sent[CONTACT], sent[LIAISON.email]
    assert partner.subject == (
        "El calendario de informes de la alianza renovada entre Techadores Unidos y MIOSHA "
        f"({reference})"
    )
    assert partner.text_body.startswith(
        "Estimado/a Dana Smith:\n\nLa alianza entre Techadores Unidos y MIOSHA se renovó por "
        "3 años a partir del 10 de enero de 2028 (hasta el 9 de enero de 2031).\n"
    )
    assert "El calendario de informes de la nueva vigencia (" in partner.text_body
    assert "- Informe trimestral del 10 de enero de 2028 al 31 de marzo de 2028: vence" in (
        partner.text_body
    )
    assert "Su enlace: Lee Liaison (lee@agency.example)" in partner.text_body
    check_spanish(partner, reference)
    # Its calendar: each report's entry and its alarm in Spanish.
    calendar = unfolded(partner.calendar)
    assert "SUMMARY:Vence el informe trimestral: alianza de Techadores Unidos y MIOSHA" in (
        calendar
    )
    assert "DESCRIPTION:En una semana: Vence el informe" in calendar
    assert "report due" not in calendar
    assert "In a week" not in calendar
    # The liaison's copy, and its calendar, in English.
    assert liaison.subject == (
        "The report calendar of the renewed alliance between Techadores Unidos and MIOSHA "
        f"({reference})"
    )
    assert "renewed from January 10, 2028 for 3 years (until January 9, 2031)" in (
        liaison.text_body
    )
    check_english(liaison)
    assert "SUMMARY:Quarterly report due: alliance of Techadores Unidos" in unfolded(
        liaison.calendar
    )
    assert "DESCRIPTION:In a week: Quarterly report due" in unfolded(liaison.calendar)


def alliance_change(event_type: str, language: str, **fields: Any) -> dict[str, Any]:
    """Review's change to an alliance whose contact reads ``language``, as notify gets it."""
    return new_event(
        event_type,
        producer="review",
        payload={
            "alliance_id": uuid.uuid4(),
            "proposal_id": uuid.uuid4(),
            "reference": f"AP-2026-0009{'1' if language == 'es' else '2'}",
            "partner_name": SPANISH_PARTNER,
            "contact": {"name": "Dana Smith", "email": CONTACT, "language": language},
            "liaison": {"id": LIAISON.id, "name": LIAISON.name, "email": LIAISON.email},
            "decided_at": datetime.now(UTC),
            **fields,
        },
    ).to_message()


CHANGE_TASKS = {
    "alliance.renewed": "notify.alliance_renewed",
    "alliance.concluded": "notify.alliance_concluded",
    "alliance.terminated": "notify.alliance_terminated",
    "alliance.ambassador_designated": "notify.ambassador_designated",
}


@pytest.mark.parametrize(
    ("event_type", "fields", "spanish", "says", "english"),
    [
        (
            "alliance.renewed",
            {
                "renewal": 1,
                "signing_date": date(2028, 1, 10),
                "term_years": 3,
                "ends_on": date(2031, 1, 9),
                "previous_ends_on": date(2028, 1, 14),
            },
            "La alianza entre Techadores Unidos y MIOSHA se renovó hasta el 9 de enero de 2031",
            "- Vigencia: 3 años, hasta el 9 de enero de 2031 (la vigencia anterior duró hasta "
            "el 14 de enero de 2028)\n",
            "The alliance between Techadores Unidos and MIOSHA is renewed until January 9, 2031",
        ),
        (
            "alliance.concluded",
            {"concluded_on": date(2026, 12, 1)},
            "La alianza entre Techadores Unidos y MIOSHA concluyó",
            "MIOSHA dio por concluida su alianza con Techadores Unidos a partir del 1 de "
            "diciembre de 2026.",
            "The alliance between Techadores Unidos and MIOSHA has concluded",
        ),
        (
            "alliance.terminated",
            {"notice_date": date(2026, 1, 15), "effective_on": date(2026, 2, 14)},
            "Aviso: la alianza entre Techadores Unidos y MIOSHA termina el 14 de febrero de 2026",
            "MIOSHA notificó por escrito el 15 de enero de 2026 que pone fin a su alianza con "
            "Techadores Unidos.",
            "Notice: the alliance between Techadores Unidos and MIOSHA ends on February 14, 2026",
        ),
        (
            "alliance.ambassador_designated",
            {"designated_on": date(2026, 1, 15)},
            "Techadores Unidos es ahora Embajador del Programa de Alianzas de MIOSHA",
            "recibe la designación de Embajador del Programa de Alianzas de MIOSHA a partir del "
            "15 de enero de 2026.",
            "Techadores Unidos is now an Alliance Program Ambassador of MIOSHA",
        ),
    ],
)
def test_each_change_to_the_alliance_reaches_the_contact_in_their_language(
    redis_client, event_type, fields, spanish, says, english
):
    task = services.notify.tasks.celery.tasks[CHANGE_TASKS[event_type]]
    task(event=alliance_change(event_type, "es", **fields))
    task(event=alliance_change(event_type, "en", **fields))

    sent = {(m.reference, m.to_address): m for m in stored()}
    partner = sent[("AP-2026-00091", CONTACT)]
    assert partner.subject == f"{spanish} (AP-2026-00091)"
    assert partner.text_body.startswith("Estimado/a Dana Smith:\n\n")
    assert says in partner.text_body
    check_spanish(partner, "AP-2026-00091")
    # The liaison's copy stays English; so does everything to an English-reading contact.
    for reference, address in (("AP-2026-00091", LIAISON.email), ("AP-2026-00092", CONTACT)):
        assert sent[(reference, address)].subject.startswith(english)
        check_english(sent[(reference, address)])


def link_resent_event(language: str, status: str) -> dict[str, Any]:
    payload = report_payload(
        due_date=date(2026, 1, 15),
        status=status,
        report_url="https://alliance.example/reporting/reports/new-signed-token",
        sent_by=LIAISON.name,
        sent_at=datetime.now(UTC),
    )
    payload["liaison"] = {"name": LIAISON.name, "email": LIAISON.email}
    payload["contact"] = {**payload["contact"], "language": language}
    payload["kind"] = "quarterly"
    payload["reference"] = "AP-2026-00093" if language == "es" else "AP-2026-00094"
    payload["partner_name"] = SPANISH_PARTNER
    return new_event("report.link_resent", producer="reporting", payload=payload).to_message()


@pytest.mark.parametrize(
    ("status", "subject", "says"),
    [
        (
            "overdue",
            "Acción requerida: un nuevo enlace a su informe trimestral atrasado de AP-2026-00093",
            "El informe vencía el 15 de enero de 2026: envíelo lo antes posible.",
        ),
        (
            "submitted",
            "Un nuevo enlace a su informe trimestral de AP-2026-00093",
            "Usted ya envió este informe",
        ),
    ],
)
def test_a_new_link_to_a_report_reaches_the_contact_in_their_language(
    redis_client, status, subject, says
):
    task = services.notify.tasks.celery.tasks["notify.report_link_resent"]
    task(event=link_resent_event("es", status))
    task(event=link_resent_event("en", status))

    sent = {m.reference: m for m in stored() if m.template == "report_link"}
    partner = sent["AP-2026-00093"]
    assert partner.subject == subject
    assert partner.text_body.startswith(
        "Estimado/a Dana Smith:\n\nLee Liaison, su enlace en MIOSHA, nos pidió enviarle un nuevo "
        "enlace al informe trimestral de la alianza entre Techadores Unidos y MIOSHA "
        "(AP-2026-00093).\n"
    )
    assert says in partner.text_body
    assert "- Período: del 15 de enero de 2026 al 14 de enero de 2027\n" in partner.text_body
    assert "Abra su informe:\nhttps://alliance.example/reporting/reports/new-signed-token\n" in (
        partner.text_body
    )
    assert ">Abrir su informe</a>" in partner.html_body
    check_spanish(partner, "AP-2026-00093")
    english = sent["AP-2026-00094"]
    assert english.subject.endswith("quarterly report for AP-2026-00094")
    assert "a new link to your" in english.subject.lower()
    check_english(english)


SPANISH_JUSTIFICATION = "Se reunieron cada mes; faltó\nel acta de marzo."


def test_a_spanish_reading_contact_gets_the_evaluation_in_spanish(redis_client):
    signed = alliance_signed_event(
        SPANISH_PARTNER,
        signing_date=SIGNED_EVALUATION_SHARED,
        ends_on=ENDS_EVALUATION_SHARED,
        language="es",
    )
    run_reporting_task("reporting.alliance_signed", signed)
    given = {
        key: {"rating": "meets", "justification": "Se ve en los informes."}
        for key in evaluations.REQUIREMENTS
    }
    given["team_meets"] = {"rating": "meets_in_part", "justification": SPANISH_JUSTIFICATION}
    given["work_plan"] = {"rating": "not_applicable", "justification": ""}
    given["reports_on_time"] = {"rating": "did_not_meet", "justification": "Dos tarde."}
    with database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=acting_as(LIAISON),
            alliance_id=signed.payload["alliance_id"],
            term=0,
            year=2,
            ratings=given,
            at=AT,
        )
        evaluations.share_evaluation(
            session,
            acting=acting_as(LIAISON),
            alliance_id=signed.payload["alliance_id"],
            term=0,
            year=2,
            at=AT,
            outbox=outbox,
        )
    [message] = shared_events()
    consume_evaluation_shared(message)

    reference = signed.payload["reference"]
    sent = {m.to_address: m for m in stored_evaluation_shared()}
    partner, liaison = sent[CONTACT], sent[LIAISON.email]
    assert partner.subject == f"La evaluación anual de su alianza {reference} (año 2)"
    text = partner.text_body
    assert text.startswith(
        f"Estimado/a Dana Smith:\n\nMIOSHA evaluó el año 2 de la alianza entre Techadores Unidos "
        f"y MIOSHA ({reference}), del 15 de enero de 2025 al 14 de enero de 2026.\n"
    )
    assert "- El equipo de implementación se reúne con regularidad: Cumple en parte\n" in text
    assert "  Se reunieron cada mes; faltó\n  el acta de marzo.\n" in text  # as the liaison wrote
    assert "- El plan de trabajo se mantiene al día: No aplica\n" in text
    assert "- Los informes se envían a tiempo: No cumplió\n" in text
    assert "- La agencia revisa los productos antes de publicarlos: Cumple\n" in text
    assert "Calificación</th>" in partner.html_body
    check_spanish(partner, reference)
    # The liaison's copy in English, the program's words as the code writes them.
    assert liaison.subject == f"Your alliance's annual evaluation for {reference} (year 2)"
    assert "- The implementation team meets regularly: Meets in part\n" in liaison.text_body
    assert "- Reports are submitted on time: Did not meet\n" in liaison.text_body
    check_english(liaison)


def test_the_requirements_and_ratings_of_an_evaluation_all_have_their_spanish() -> None:
    from services.notify.messages.render import catalog

    spanish = catalog("es")
    labels = [*evaluations.REQUIREMENTS.values(), *evaluations.RATINGS.values()]
    assert [label for label in labels if spanish.gettext(label) == label] == []


def test_a_revision_requests_calendar_is_in_the_contact_s_language(redis_client):
    revision = new_event(
        "report.revision_requested",
        producer="reporting",
        payload=report_payload(
            kind="quarterly",
            due_date=date(2027, 4, 1),
            comments="Agregue las personas alcanzadas.",
            report_url="https://alliance.example/reporting/reports/revise-token",
            reviewed_by="lee@agency.example",
            reviewed_at=datetime.now(UTC),
        ),
    ).to_message()
    services.notify.tasks.celery.tasks["notify.report_revision_requested"](event=revision)

    sent = {m.to_address: m for m in stored()}
    partner = unfolded(sent["dana@example.org"].calendar)
    assert "SUMMARY:Vence el informe trimestral: alianza de Techadores Unidos" in partner
    assert "vence el 1 de abril de 2027." in partner
    assert "Complete el informe aquí: https://alliance.example/reporting/reports/revise-token" in (
        partner
    )
    assert "In a week" not in partner
    assert "SUMMARY:Quarterly report due" in unfolded(sent["lee@agency.example"].calendar)
