"""The e-mails themselves (issue 10), against real PostgreSQL, Redis and a real (in-process,
aiosmtpd) SMTP server: every event of SPEC's notification table gives the right people the
right message (subject, plain text and HTML with its CSS inlined, the agency's logo and
signature, absolute links) and, where due, a report calendar (.ics) that mail clients update
in place; user text cannot inject markup or headers.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import icalendar
import pytest
from sqlalchemy import select

import services.notify.tasks
from deploy.embedded import free_port
from services.notify.log import domain
from services.notify.messages import calendars
from services.notify.messages import render as messages
from services.notify.models import Message
from services.notify.worker import database
from shared.config import load_settings
from shared.events import new_event
from tests.factories import acting, proposal, submitted_event
from tests.helpers import queued_tasks
from tests.smtp import DroppingInbox, Inbox, SmtpServer, text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

ORGANIZATION = "<script>alert(1)</script> & Co"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"
REFERENCE = "AP-2026-00042"
CONTACT = "dana@example.org"
LIAISON = "lee@agency.example"
COORDINATOR = "coordinator@agency.example"  # COORDINATOR_EMAIL in the tests (conftest.py)
LOGO = "https://agency.example/logo.png"
SIGNATURE = "Pat Doe\nAlliance Coordinator, MIOSHA"
ALLIANCE_ID = uuid.uuid4()
REPORT_ID = uuid.uuid4()
DUE = date(2026, 7, 30)
NEW_DUE = date(2026, 8, 17)


def base() -> str:
    return load_settings().public_base_url


def link(path: str) -> str:
    """A signed link as the producing service writes it: under PUBLIC_BASE_URL."""
    return f"{base()}{path}"


# -- the events, as their producers send them ------------------------------------------------


def people() -> dict:
    return {
        "contact": {"name": "Dana Smith", "email": CONTACT},
        "liaison": {"name": "Lee Liaison", "email": LIAISON},
    }


def report_fields(due_date: date = DUE, report_id: uuid.UUID = REPORT_ID) -> dict:
    return {
        "report_id": report_id,
        "alliance_id": ALLIANCE_ID,
        "proposal_id": uuid.UUID(int=42),
        "reference": REFERENCE,
        "partner_name": ORGANIZATION,
        **people(),
        "kind": "quarterly",
        "term": 0,
        "period_start": date(2026, 4, 1),
        "period_end": date(2026, 6, 30),
        "due_date": due_date,
    }


def applicant(version: int = 1) -> dict:
    return {
        "proposal_id": uuid.UUID(int=42),
        "reference": REFERENCE,
        "version": version,
        "contact_name": "Dana Smith",
        "contact_email": CONTACT,
        "organization_name": ORGANIZATION,
        "status_url": link("/status/signed-token"),
    }


def event(event_type: str, **overrides) -> dict:
    """The message of ``event_type``'s event as notify's queue gets it."""
    now = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
    if event_type in ("proposal.submitted", "proposal.resubmitted"):
        version = 2 if event_type == "proposal.resubmitted" else 1
        return submitted_event(
            proposal(ORGANIZATION),
            proposal_id=uuid.UUID(int=42),
            reference=REFERENCE,
            version=version,
            status_url=link("/status/signed-token"),
        ).to_message()
    payloads = {
        "proposal.changes_requested": {
            **applicant(),
            "message": "Name your training <b>venues</b>.",
            "requested_at": now,
        },
        "proposal.declined": {**applicant(), "reason": "Not this year.", "decided_at": now},
        "proposal.approved": {
            **applicant(),
            "alliance_id": ALLIANCE_ID,
            "division": "construction_safety_health",
            "signing_date": date(2026, 7, 15),
            "term_years": 2,
            "decided_at": now,
        },
        "alliance.reports_scheduled": {
            "alliance_id": ALLIANCE_ID,
            "proposal_id": uuid.UUID(int=42),
            "reference": REFERENCE,
            "partner_name": ORGANIZATION,
            **people(),
            "division": "construction_safety_health",
            "term": 0,
            "term_years": 2,
            "signing_date": date(2026, 4, 1),
            "ends_on": date(2028, 3, 31),
            "reports": [
                {
                    "report_id": REPORT_ID,
                    "kind": "quarterly",
                    "period_start": date(2026, 4, 1),
                    "period_end": date(2026, 6, 30),
                    "due_date": DUE,
                },
                {
                    "report_id": uuid.UUID(int=7),
                    "kind": "annual",
                    "period_start": date(2026, 4, 1),
                    "period_end": date(2027, 3, 31),
                    "due_date": date(2027, 5, 30),
                },
            ],
            "report_url": link("/reporting/reports/first-signed-token"),
        },
        "report.submitted": {
            **report_fields(),
            "version": 1,
            "submitted_at": now,
            "on_time": True,
        },
        "report.accepted": {
            **report_fields(),
            "version": 1,
            "comments": "",
            "report_url": "",
            "reviewed_by": LIAISON,
            "reviewed_at": now,
        },
        "report.revision_requested": {
            **report_fields(NEW_DUE),
            "version": 1,
            "comments": "Add the <script>alert(1)</script> rows.",
            "report_url": link("/reporting/reports/revise-signed-token"),
            "reviewed_by": LIAISON,
            "reviewed_at": now,
        },
    }
    days = {"due_soon": -14, "due": 0, "overdue": 1, "escalated": 30}
    for reminder, offset in days.items():
        payloads[f"report.{reminder}"] = {
            **report_fields(),
            "reminder": reminder,
            "days": offset,
            "report_url": link("/reporting/reports/reminder-signed-token"),
        }
    payload = {**payloads[event_type], **overrides}
    producer = "review" if event_type.startswith("proposal.") else "reporting"
    return new_event(event_type, producer=producer, payload=payload).to_message()


CONSUMERS = {
    "proposal.changes_requested": "changes_requested",
    "alliance.reports_scheduled": "reports_scheduled",
}


def consume(message: dict) -> None:
    """Run notify's consumer of the event, as its worker would."""
    name = CONSUMERS.get(message["type"], message["type"].replace(".", "_"))
    services.notify.tasks.celery.tasks[f"notify.{name}"](event=message)


def release_held() -> None:
    """A reviewer releases the held decision messages (the outbox), as on the staff page."""
    with database.transaction() as session:
        held = session.scalars(select(Message.id).where(Message.status == "held")).all()
        domain.release_held(
            session, acting("riley@agency.example", "reviewer"), message_ids=list(held)
        )


def use_smtp(monkeypatch, port: int) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_TIMEOUT", "2")


def deliver_queued(redis_client) -> list[str]:
    """Run the deliveries the consumers queued."""
    queued = [kwargs for _, kwargs in queued_tasks(redis_client, "notify")]
    redis_client.delete("notify")
    return [services.notify.tasks.deliver_message(**kwargs) for kwargs in queued]


def stored() -> list[Message]:
    with database.transaction() as session:
        return sorted(session.scalars(select(Message)), key=lambda m: m.to_address)


# -- reading a received message back -----------------------------------------------------------


def html_of(received: EmailMessage) -> str:
    part = received.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def plain(received: EmailMessage) -> str:
    return text_of(received).replace("\r\n", "\n")


def subject_of(received: EmailMessage) -> str:
    return str(received["Subject"]).strip()


def calendar_of(received: EmailMessage) -> icalendar.Calendar | None:
    """The attached calendar, checked to be attached the way every client shows it."""
    if received.get_content_type() != "multipart/mixed":
        assert received.get_content_type() == "multipart/alternative"
        return None
    parts = received.get_payload()
    assert isinstance(parts, list)
    alternative, attachment = parts
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "text/html",
    ]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_param("name") == "reports.ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "reports.ics"
    return icalendar.Calendar.from_ical(attachment.get_content())


def events_of(calendar: icalendar.Calendar) -> dict[str, icalendar.Component]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def check_calendar(calendar: icalendar.Calendar, *, reports: dict[uuid.UUID, date]) -> None:
    """METHOD:PUBLISH, and per report an all-day event with its UID and a 7-day alarm."""
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["VERSION"]) == "2.0"
    entries = events_of(calendar)
    assert sorted(entries) == sorted(f"report-{rid}@127.0.0.1" for rid in reports)
    for report_id, due in reports.items():
        entry = entries[f"report-{report_id}@127.0.0.1"]
        assert entry["DTSTART"].params["VALUE"] == "DATE"
        assert entry["DTSTART"].dt == due
        assert not isinstance(entry["DTSTART"].dt, datetime)
        assert entry["DTEND"].dt == due + timedelta(days=1)
        assert ORGANIZATION in str(entry["SUMMARY"])
        assert "report" in str(entry["SUMMARY"])
        assert REFERENCE in str(entry["SUMMARY"])
        [alarm] = entry.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert alarm["TRIGGER"].dt == timedelta(days=-7)
        assert alarm.to_ical().decode().count("TRIGGER:-P7D") == 1
        assert isinstance(entry["SEQUENCE"], int)
        assert entry["DTSTAMP"].dt.tzinfo is not None


HREF = re.compile(r'href="([^"]*)"')


def check_parts(received: EmailMessage) -> None:
    """Both parts, the HTML's CSS inlined with the logo and signature, user text escaped,
    every link absolute."""
    text, html = plain(received), html_of(received)
    assert text.strip()
    assert html.strip()
    assert text.rstrip().endswith(f"-- \n{SIGNATURE}")
    assert "<style" not in html
    assert 'style="' in html
    assert f'<img src="{LOGO}" alt="MIOSHA"' in html
    assert "Pat Doe<br>Alliance Coordinator, MIOSHA" in html
    assert "<script>" not in html
    assert "<b>" not in html
    if ORGANIZATION in text:
        assert ESCAPED in html
    for href in HREF.findall(html):
        assert href.startswith((base() + "/", "mailto:")), href


# Per event: each recipient, whether the subject says "Action required:" and whether a
# calendar is attached (with which reports and due dates).
FIRST = {REPORT_ID: DUE, uuid.UUID(int=7): date(2027, 5, 30)}
REMINDED = {REPORT_ID: DUE}
TABLE: dict[str, dict[str, tuple[bool, dict[uuid.UUID, date] | None]]] = {
    "proposal.submitted": {CONTACT: (False, None), COORDINATOR: (True, None)},
    "proposal.resubmitted": {CONTACT: (False, None), COORDINATOR: (True, None)},
    "proposal.changes_requested": {CONTACT: (True, None)},
    "proposal.declined": {CONTACT: (False, None)},
    "proposal.approved": {CONTACT: (False, None)},
    "alliance.reports_scheduled": {CONTACT: (False, FIRST), LIAISON: (True, FIRST)},
    "report.due_soon": {CONTACT: (True, REMINDED), LIAISON: (False, REMINDED)},
    "report.due": {CONTACT: (True, REMINDED), LIAISON: (False, REMINDED)},
    "report.overdue": {CONTACT: (True, REMINDED), LIAISON: (False, REMINDED)},
    "report.escalated": {COORDINATOR: (True, REMINDED)},
    "report.submitted": {CONTACT: (False, None), LIAISON: (True, None)},
    "report.accepted": {CONTACT: (False, None)},
    "report.revision_requested": {
        CONTACT: (True, {REPORT_ID: NEW_DUE}),
        LIAISON: (False, {REPORT_ID: NEW_DUE}),
    },
}


@pytest.fixture
def branded(monkeypatch):
    monkeypatch.setenv("MAIL_LOGO_URL", LOGO)
    monkeypatch.setenv("MAIL_SIGNATURE", SIGNATURE.replace("\n", "\\n"))
    return monkeypatch


@pytest.mark.parametrize("event_type", sorted(TABLE))
def test_each_event_mails_the_right_people_the_right_message(
    event_type, branded, redis_client, smtp_server
):
    consume(event(event_type))
    release_held()  # decisions wait in the outbox until staff release them
    use_smtp(branded, smtp_server.port)

    expected = TABLE[event_type]
    assert deliver_queued(redis_client) == ["sent"] * len(expected)

    received = smtp_server.inbox.wait_for(lambda m: True, count=len(expected))
    by_address = {str(m["To"]): m for m in received}
    assert sorted(by_address) == sorted(expected)
    for address, (action, reports) in expected.items():
        mail = by_address[address]
        assert subject_of(mail).startswith("Action required: ") is action, subject_of(mail)
        assert mail["X-Alliance-Reference"] == REFERENCE
        check_parts(mail)
        calendar = calendar_of(mail)
        if reports is None:
            assert calendar is None
            continue
        assert calendar is not None
        check_calendar(calendar, reports=reports)
        descriptions = "\n".join(str(e["DESCRIPTION"]) for e in calendar.walk("VEVENT"))
        if address == CONTACT:  # the partner's entry links the form; staff's never do
            assert "/reporting/reports/" in descriptions
        else:
            assert "/reporting/reports/" not in descriptions
            assert f"{base()}/reporting/staff/reports/{REPORT_ID}" in descriptions
    # What was sent is what the log keeps: the calendar with the rendered text.
    for row in stored():
        assert (row.calendar != "") is (expected[row.to_address][1] is not None)


def test_a_revisions_new_due_date_updates_the_same_calendar_entry(
    branded, redis_client, smtp_server
):
    """Outlook replaces an entry only with the same UID, a higher SEQUENCE and a newer
    DTSTAMP; the other clients follow the UID."""
    consume(event("alliance.reports_scheduled"))
    consume(event("report.due_soon"))
    consume(event("report.revision_requested"))  # due August 17 instead of July 30
    consume(event("report.due_soon", due_date=NEW_DUE))
    use_smtp(branded, smtp_server.port)
    assert set(deliver_queued(redis_client)) == {"sent"}

    uid = f"report-{REPORT_ID}@127.0.0.1"
    seen = []
    for mail in smtp_server.inbox.wait_for(lambda m: m["To"] == CONTACT, count=4):
        calendar = calendar_of(mail)
        assert calendar is not None
        entry = events_of(calendar)[uid]
        seen.append((entry["DTSTART"].dt, entry["SEQUENCE"], entry["DTSTAMP"].dt))
    seen.sort(key=lambda s: s[2])
    (welcome, reminder, revision, after) = seen
    assert welcome[:2] == reminder[:2] == (DUE, 0)
    assert revision[:2] == (NEW_DUE, 1)  # same UID, higher SEQUENCE
    assert after[:2] == (NEW_DUE, 1)  # the same due date: nothing to update
    assert revision[2] >= reminder[2]


def test_a_retry_attaches_the_very_same_calendar(branded, redis_client):
    """The calendar is stored with the message: the attempt after a lost answer sends it
    byte for byte, however the report's entry moved meanwhile."""
    server = SmtpServer(free_port(), DroppingInbox(drops=1))
    server.start()
    try:
        consume(event("report.due"))
        use_smtp(branded, server.port)
        statuses = deliver_queued(redis_client)
        assert sorted(statuses) == ["pending", "sent"]  # the first answer never came
        [waiting] = [m for m in stored() if m.status == "pending"]
        consume(event("report.revision_requested"))  # the entry moves on meanwhile
        redis_client.delete("notify")
        with database.transaction() as session:
            session.get(Message, waiting.id).next_attempt_at = datetime.now(UTC)
        assert services.notify.tasks.deliver_message(message_id=str(waiting.id)) == "sent"
        copies = server.inbox.wait_for(
            lambda m: m["X-Alliance-Message"] == str(waiting.id), count=2
        )
        attachments = [c.get_payload()[1].get_content() for c in copies]
        assert attachments[0] == attachments[1]
        assert (
            events_of(icalendar.Calendar.from_ical(attachments[0]))[
                f"report-{REPORT_ID}@127.0.0.1"
            ]["DTSTART"].dt
            == DUE
        )
    finally:
        server.stop()


# -- header injection ---------------------------------------------------------------------------


class EnvelopeInbox(Inbox):
    """Keeps each message with the recipients the client gave in the envelope (RCPT TO)."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(list(envelope.rcpt_tos))
        return await super().handle_DATA(server, session, envelope)


INJECTION = "\r\nBcc: evil@example.org"


def test_a_line_break_in_any_user_value_never_adds_a_header_or_a_recipient(branded, redis_client):
    inbox = EnvelopeInbox()
    server = SmtpServer(free_port(), inbox)
    server.start()
    try:
        fields = {
            "partner_name": f"Roofers{INJECTION}",
            "reference": f"AP-1{INJECTION}",
            "contact": {"name": f"Dana{INJECTION}", "email": CONTACT},
            "liaison": {"name": f"Lee{INJECTION}", "email": LIAISON},
        }
        for event_type in ("report.overdue", "report.escalated", "report.submitted"):
            consume(event(event_type, **fields))
        use_smtp(branded, server.port)
        assert set(deliver_queued(redis_client)) == {"sent"}

        received = server.inbox.wait_for(lambda m: True, count=5)
        assert inbox.envelopes
        assert all(len(rcpt) == 1 for rcpt in inbox.envelopes)
        assert sorted(r for [r] in inbox.envelopes) == sorted(
            [CONTACT, LIAISON, COORDINATOR, CONTACT, LIAISON]
        )
        for mail in received:
            assert mail["Bcc"] is None
            assert mail.get_all("To") == [mail["To"]]
            assert "\n" not in subject_of(mail).replace("\n ", " ").strip()
            assert "evil@example.org" not in str(mail["To"])
            assert str(mail["X-Alliance-Reference"]).split() == ["AP-1", "Bcc:", "evil@example.org"]
    finally:
        server.stop()


def test_a_stored_address_that_is_not_one_address_fails_visibly_and_is_never_sent(
    redis_client, smtp_server, monkeypatch
):
    with database.transaction() as session:
        message = Message(
            cause=f"test:{uuid.uuid4()}",
            template="proposal_receipt",
            to_address=f"dana@example.org{INJECTION}",
            subject="We received your Alliance proposal",
            text_body="Thank you.\n",
            html_body="<p>Thank you.</p>",
        )
        session.add(message)
        session.flush()
        message_id = message.id
    use_smtp(monkeypatch, smtp_server.port)

    assert services.notify.tasks.deliver_message(message_id=str(message_id)) == "failed"

    [failed] = [m for m in stored() if m.id == message_id]
    assert failed.status == "failed"
    assert failed.attempts == 1
    assert failed.last_error.startswith("Unsendable: ")
    assert smtp_server.inbox.matching(lambda m: m["To"] != COORDINATOR) == []


def test_the_calendar_module_keeps_one_sequence_per_due_date():
    report_id = uuid.uuid4()
    with database.transaction() as session:
        first = calendars.sequence(session, report_id=report_id, due_date=DUE)
        again = calendars.sequence(session, report_id=report_id, due_date=DUE)
        moved = calendars.sequence(session, report_id=report_id, due_date=NEW_DUE)
        back = calendars.sequence(session, report_id=report_id, due_date=DUE)
    assert (first, again, moved, back) == (0, 0, 1, 2)


def test_without_branding_the_profile_signature_closes_each_message():
    settings = load_settings()
    _subject, text, html = messages.render(
        "report_accepted",
        {
            **messages.branding(settings, settings.agency),
            **report_fields(),
            "version": 1,
            "comments": "",
            "report_url": "",
            "reviewed_by": LIAISON,
            "reviewed_at": datetime(2026, 8, 3, tzinfo=UTC),
            "recipient_name": "Dana Smith",
            "to_liaison": False,
        },
    )
    assert text.rstrip().endswith(
        "-- \nThe MIOSHA Alliance Program team\nConsultation, Education and Training Division"
    )
    assert "<strong>MIOSHA Alliance Program</strong>" in html  # no logo: the name
    assert "<img" not in html
