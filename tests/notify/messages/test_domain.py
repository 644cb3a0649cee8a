"""The e-mails themselves, against real PostgreSQL, Redis and a real (in-process,
aiosmtpd) SMTP server: every event of SPEC's notification table gives the right people the
right message (subject, plain text and HTML with its CSS inlined, the agency's logo and
signature, absolute links) and, where due, a report calendar (.ics) that mail clients update
in place; user text cannot inject markup or headers.

The report's submission and review: the liaison is asked to review (period, version, on
time or late, the staff page), the partner's contact gets a receipt, an acceptance, or a
revision request with the comments (escaped, line breaks kept), the new due date and the link.

The report reminders: subjects say what is required and when, bodies the period, the due
date, the link (or who sends the form) and the liaison.

A new link to a report's form, as the partner's contact reads it: who asked (the liaison by
name, or another staff member and the liaison beside), where the report stands, the link in
words in the HTML part and on its own line in the text."""

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
from services.notify.messages import render as messages
from services.notify.messages.render import render
from services.notify.models import Message
from services.notify.worker import database
from shared.config import load_agency_profile, load_settings
from shared.events import new_event
from tests.helpers import queued_tasks
from tests.intake.factories import proposal, submitted_event
from tests.shared.factories import acting
from tests.smtp import DroppingInbox, Inbox, SmtpServer, text_of

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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.integration
@pytest.mark.usefixtures("clean_databases")
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


STAFF_PAGE = "http://127.0.0.1:8000/reporting/staff/reports/1"
LINK = "https://alliances.example/reporting/reports/abc?sig=1"


def context(**overrides):
    base = {
        "agency": "MIOSHA",
        "report_id": uuid.uuid4(),
        "alliance_id": uuid.uuid4(),
        "reference": "AP-2026-00042",
        "partner_name": "Roofers <b>& Sons</b>",
        "contact": {"name": "Dana Smith", "email": "dana@example.org"},
        "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
        "kind": "quarterly",
        "term": 0,
        "period_start": date(2026, 4, 1),
        "period_end": date(2026, 6, 30),
        "due_date": date(2026, 7, 30),
        "version": 1,
        "submitted_at": datetime(2026, 7, 29, 15, 4, tzinfo=UTC),
        "on_time": True,
        "review_url": STAFF_PAGE,
        "staff_report_url": STAFF_PAGE,
        "comments": "",
        "report_url": LINK,
        "reviewed_by": "lee@agency.example",
        "reviewed_at": datetime(2026, 8, 3, 14, 0, tzinfo=UTC),
        "recipient_name": "Dana Smith",
        "to_liaison": False,
    }
    base.update(overrides)
    return base


@pytest.mark.unit
@pytest.mark.parametrize(
    ("template", "overrides", "subject"),
    [
        (
            "report_submitted_liaison",
            {},
            "Action required: review the quarterly report from Roofers <b>& Sons</b> "
            "(AP-2026-00042)",
        ),
        (
            "report_submitted_receipt",
            {"kind": "annual"},
            "We received your annual report for AP-2026-00042",
        ),
        ("report_accepted", {}, "Your quarterly report for AP-2026-00042 was accepted"),
        (
            "report_revision_requested",
            {"due_date": date(2026, 8, 17), "comments": "More detail."},
            "Action required: please revise your quarterly report for AP-2026-00042 "
            "by August 17, 2026",
        ),
    ],
)
def test_each_subject_says_what_happened_and_what_is_required(template, overrides, subject):
    assert render(template, context(**overrides))[0] == subject


@pytest.mark.unit
@pytest.mark.parametrize(("on_time", "word"), [(True, "On time"), (False, "Late")])
def test_the_liaison_reads_the_period_the_version_on_time_or_late_and_the_staff_page(on_time, word):
    _, text, html = render(
        "report_submitted_liaison",
        context(on_time=on_time, version=2, recipient_name="Lee Liaison", to_liaison=True),
    )
    assert text.startswith("Dear Lee Liaison,\n\nRoofers <b>& Sons</b> submitted the quarterly")
    assert "on July 29, 2026 at 3:04 PM UTC: please review it" in text
    assert "- Period: April 1, 2026 through June 30, 2026\n" in text
    assert "- Version: 2 (a resubmission)\n" in text
    assert f"- {word}: it was due on July 30, 2026\n" in text
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert f"Review the report:\n{STAFF_PAGE}\n" in text
    assert "sig=1" not in text + html  # the partner's own link stays the partner's
    assert f'<a href="{STAFF_PAGE}">Review the report</a>' in html
    assert f"<li>{word}: it was due on July 30, 2026</li>" in html


@pytest.mark.unit
def test_a_first_version_is_not_called_a_resubmission():
    _, text, _ = render("report_submitted_liaison", context())
    assert "- Version: 1\n" in text
    assert "resubmission" not in text


@pytest.mark.unit
def test_the_receipt_names_the_report_and_the_liaison():
    _, text, html = render("report_submitted_receipt", context())
    assert text.startswith("Dear Dana Smith,\n\nWe received the quarterly report of the alliance")
    assert "- Period: April 1, 2026 through June 30, 2026\n" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert STAFF_PAGE not in text + html  # the staff page is for staff
    assert 'href="mailto:lee@agency.example"' in html


@pytest.mark.unit
def test_an_acceptance_shows_comments_only_when_there_are_some():
    _, text, html = render("report_accepted", context())
    assert "on August 3, 2026." in text
    assert "comments" not in text + html
    _, text, html = render("report_accepted", context(comments="Well done.\nThanks."))
    assert "Your liaison's comments:\n\nWell done.\nThanks.\n" in text
    assert "Well done.<br>\nThanks." in html


@pytest.mark.unit
def test_a_revision_request_carries_escaped_comments_with_their_line_breaks():
    comments = "Add the <script>alert(1)</script> rows & dates.\r\nSecond line\nThird"
    _, text, html = render(
        "report_revision_requested", context(comments=comments, due_date=date(2026, 8, 17))
    )
    assert "Add the <script>alert(1)</script> rows & dates." in text
    assert "<script>" not in html
    assert (
        "Add the &lt;script&gt;alert(1)&lt;/script&gt; rows &amp; dates.<br>\n"
        "Second line<br>\nThird</blockquote>"
    ) in html
    assert "asks for a revision by August 17, 2026." in text
    assert "- New due date: August 17, 2026\n" in text
    assert f"Revise and resubmit the report here:\n{LINK}\n" in text
    assert f'href="{LINK}"' in html


@pytest.mark.unit
def test_the_liaisons_copy_of_a_revision_request_names_the_contact():
    _, text, html = render(
        "report_revision_requested",
        context(comments="Fix it.", recipient_name="Lee Liaison", to_liaison=True),
    )
    assert text.startswith(
        "Dear Lee Liaison,\n\nThis is your copy of the revision request sent to Dana Smith"
    )
    assert "The comments sent:\n\nFix it.\n" in text
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    # The liaison's copy links the report's staff page, never the partner's signed link.
    assert f"The report in the staff pages:\n{STAFF_PAGE}\n" in text
    assert f'href="{STAFF_PAGE}"' in html
    assert LINK not in text
    assert LINK not in html
    assert "<em>This is your copy of the revision request sent to Dana Smith" in html
    assert "<li>Partner contact: Dana Smith" in html


@pytest.mark.unit
def test_without_a_link_the_contact_learns_the_liaison_sends_the_form():
    _, text, html = render("report_revision_requested", context(report_url="", comments="x"))
    assert "Your liaison, Lee Liaison, will send you the report form." in text
    assert "Your liaison, Lee Liaison, will send you the report form." in html


@pytest.mark.unit
def test_partner_names_are_escaped_in_html_and_plain_in_text():
    for template in (
        "report_submitted_liaison",
        "report_submitted_receipt",
        "report_accepted",
        "report_revision_requested",
    ):
        _, text, html = render(template, context(comments="c"))
        assert "Roofers <b>& Sons</b>" in text
        assert "<b>" not in html
        assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html


STAFF_REPORT = "http://127.0.0.1:8000/reporting/staff/reports/1"


def context_report_templates(**overrides):
    base = {
        "agency": "MIOSHA",
        "report_id": uuid.uuid4(),
        "alliance_id": uuid.uuid4(),
        "reference": "AP-2026-00042",
        "partner_name": "Roofers <b>& Sons</b>",
        "contact": {"name": "Dana Smith", "email": "dana@example.org"},
        "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
        "kind": "quarterly",
        "term": 0,
        "period_start": date(2026, 4, 1),
        "period_end": date(2026, 6, 30),
        "due_date": date(2026, 7, 30),
        "reminder": "due_soon",
        "days": -14,
        "report_url": "https://alliances.example/reports/r/abc?sig=1",
        "alliance_url": "http://127.0.0.1:8000/review/staff/alliances/1",
        "staff_report_url": STAFF_REPORT,
        "recipient_name": "Dana Smith",
        "to_liaison": False,
    }
    base.update(overrides)
    return base


@pytest.mark.unit
@pytest.mark.parametrize(
    ("template", "kind", "days", "subject"),
    [
        (
            "report_due_soon",
            "quarterly",
            -14,
            "Action required: your quarterly report for AP-2026-00042 is due July 30, 2026",
        ),
        (
            "report_due",
            "annual",
            0,
            "Action required: your annual report for AP-2026-00042 is due today",
        ),
        (
            "report_overdue",
            "quarterly",
            14,
            "Action required: your quarterly report for AP-2026-00042 is overdue "
            "(due July 30, 2026)",
        ),
        (
            "report_escalated",
            "annual",
            30,
            "Action required: report overdue 30 days: Roofers <b>& Sons</b> (AP-2026-00042)",
        ),
    ],
)
def test_each_reminder_says_what_is_required_and_when(template, kind, days, subject):
    assert render(template, context_report_templates(kind=kind, days=days))[0] == subject


@pytest.mark.unit
def test_the_contact_reads_the_period_the_due_date_the_link_and_the_liaison():
    _, text, html = render("report_due_soon", context_report_templates())
    assert text.startswith("Dear Dana Smith,\n\nThe quarterly report of the alliance between")
    assert "is due on July 30, 2026." in text
    assert "- Period: April 1, 2026 through June 30, 2026\n" in text
    assert "- Due: July 30, 2026\n" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert "Fill in the report here:\nhttps://alliances.example/reports/r/abc?sig=1\n\nThank" in (
        text
    )
    assert "copy" not in text
    assert 'href="https://alliances.example/reports/r/abc?sig=1"' in html
    assert 'href="mailto:lee@agency.example"' in html


@pytest.mark.unit
def test_without_a_link_the_contact_learns_the_liaison_sends_the_form_report_templates():
    _, text, html = render("report_due", context_report_templates(report_url="", days=0))
    assert "Your liaison, Lee Liaison, will send you the report form." in text
    assert "Your liaison, Lee Liaison, will send you the report form." in html
    assert "Fill in" not in text
    assert 'href="https://' not in html


@pytest.mark.unit
def test_the_liaisons_copy_names_the_contact_and_asks_for_the_form_when_none_is_online():
    _, text, _ = render(
        "report_overdue",
        context_report_templates(
            recipient_name="Lee Liaison", to_liaison=True, report_url="", days=1
        ),
    )
    assert text.startswith("Dear Lee Liaison,\n\nThis is your copy of the reminder sent to Dana")
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert "- Liaison: Lee Liaison (lee@agency.example)\n" in text
    assert "please send it to Dana Smith." in text
    assert f"The report in the staff pages:\n{STAFF_REPORT}\n" in text


@pytest.mark.unit
def test_the_liaisons_copy_links_the_staff_page_not_the_partners_signed_link():
    _, text, html = render(
        "report_due_soon", context_report_templates(recipient_name="Lee Liaison", to_liaison=True)
    )
    assert f"The report in the staff pages:\n{STAFF_REPORT}\n" in text
    assert f'href="{STAFF_REPORT}"' in html
    assert "sig=1" not in text
    assert "sig=1" not in html
    assert "please send it" not in text


@pytest.mark.unit
def test_partner_names_are_escaped_in_html_and_plain_in_text_report_templates():
    for template in ("report_due_soon", "report_due", "report_overdue", "report_escalated"):
        _, text, html = render(template, context_report_templates())
        assert "Roofers <b>& Sons</b>" in text
        assert "<b>" not in html
        assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html


@pytest.mark.unit
def test_the_coordinator_reads_who_is_late_and_where_the_alliance_is():
    _, text, html = render(
        "report_escalated",
        context_report_templates(days=30, kind="annual", recipient_name="Cora Coordinator"),
    )
    assert text.startswith(
        "Dear Cora Coordinator,\n\n"
        "The annual report of Roofers <b>& Sons</b> (AP-2026-00042) is 30 days"
    )
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert "- Liaison: Lee Liaison (lee@agency.example)\n" in text
    assert "The alliance:\nhttp://127.0.0.1:8000/review/staff/alliances/1\n" in text
    assert "sig=1" not in text  # the partner's own link is not the Coordinator's
    assert 'href="http://127.0.0.1:8000/review/staff/alliances/1"' in html


def context_templates(**overrides):
    base = {
        "agency": load_agency_profile().name,
        "reference": "AP-2026-00042",
        "version": 1,
        "submitted_at": datetime(2026, 7, 1, 14, 30, tzinfo=UTC),
        "status_url": "",
        "organization": {
            "name": "Roofers <script>alert(1)</script>",
            "address": {"city": "Lansing", "state": "MI"},
        },
        "organization_type": "Trade association",
        "contact": {"name": "Dana Smith", "email": "dana@example.org", "phone": "517-555-0100"},
        "goals": [{"category_label": "Outreach and communication", "description": "Talks"}],
        "division": "Construction Safety & Health",
        "review_url": "http://127.0.0.1:8000/review/staff/proposals/1",
        "recipient_name": "Jordan Lee",
        "id": uuid.uuid4(),
    }
    base.update(overrides)
    return base


@pytest.mark.unit
def test_receipt_names_the_reference_in_subject_and_body():
    subject, text, html = render("proposal_receipt", context_templates())
    assert subject == "We received your Alliance proposal AP-2026-00042"
    assert "Your reference number is AP-2026-00042." in text
    assert "AP-2026-00042" in html


@pytest.mark.unit
def test_user_text_is_escaped_in_html_and_kept_plain_in_text():
    _, text, html = render("proposal_receipt", context_templates())
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "Roofers <script>alert(1)</script>" in text


@pytest.mark.unit
def test_resubmission_says_its_version_and_alert_says_action_required():
    subject, _, _ = render("proposal_coordinator_alert", context_templates(version=2))
    assert subject.startswith("Action required: new Alliance proposal AP-2026-00042")
    assert subject.endswith("(resubmitted, version 2)")


@pytest.mark.unit
def test_dates_are_in_the_agency_time_zone_given():
    from zoneinfo import ZoneInfo

    local = datetime(2026, 7, 1, 14, 30, tzinfo=UTC).astimezone(ZoneInfo("America/Detroit"))
    _, text, _ = render("proposal_receipt", context_templates(submitted_at=local))
    assert "July 1, 2026 at 10:30 AM EDT" in text


@pytest.mark.unit
def test_delivery_failure_alert_names_the_message_the_error_and_the_page():
    subject, text, html = render(
        "delivery_failed",
        {
            "agency": "MIOSHA",
            "recipient_name": "Cora Coordinator",
            "to_address": "dana@example.org",
            "subject": "We received your Alliance proposal AP-2026-00042",
            "reference": "AP-2026-00042",
            "attempts": 13,
            "ambiguous_deliveries": 1,
            "last_error": "SMTPRecipientsRefused: 550 <dana@example.org>: unknown",
            "failures_url": "http://127.0.0.1:8000/notify/staff/deliveries",
        },
    )
    assert subject == (
        "Action required: a message to dana@example.org could not be delivered (AP-2026-00042)"
    )
    assert text.startswith("Dear Cora Coordinator,\n")
    assert "Subject: We received your Alliance proposal AP-2026-00042\n" in text
    assert "Attempts: 13\n" in text
    assert "1 attempt ended without an answer from the mail server" in text
    assert "Last error: SMTPRecipientsRefused: 550 <dana@example.org>: unknown\n" in text
    assert "&lt;dana@example.org&gt;: unknown" in html
    assert 'href="http://127.0.0.1:8000/notify/staff/deliveries"' in html


def context_report_link_templates(**overrides):
    base = {
        "agency": "MIOSHA",
        "report_id": uuid.uuid4(),
        "alliance_id": uuid.uuid4(),
        "reference": "AP-2026-00042",
        "partner_name": "Roofers <b>& Sons</b>",
        "contact": {"name": "Dana Smith", "email": "dana@example.org"},
        "liaison": {"name": "Lee Liaison", "email": "lee@agency.example"},
        "kind": "quarterly",
        "term": 0,
        "period_start": date(2026, 4, 1),
        "period_end": date(2026, 6, 30),
        "due_date": date(2026, 7, 30),
        "status": "overdue",
        "report_url": LINK,
        "sent_by": "Lee Liaison",
        "sent_at": datetime(2026, 8, 12, 14, 0, tzinfo=UTC),
        "recipient_name": "Dana Smith",
        "to_liaison": False,
    }
    base.update(overrides)
    return base


@pytest.mark.unit
@pytest.mark.parametrize(
    ("status", "subject", "says"),
    [
        (
            "overdue",
            "Action required: a new link to your overdue quarterly report for AP-2026-00042",
            "The report was due on July 30, 2026: please send it as soon as you can.",
        ),
        (
            "scheduled",
            "Action required: a new link to your quarterly report for AP-2026-00042",
            "The report is due on July 30, 2026.",
        ),
        (
            "revision_requested",
            "Action required: a new link to your quarterly report for AP-2026-00042",
            "please revise and resubmit the report by July 30, 2026.",
        ),
        (
            "submitted",
            "A new link to your quarterly report for AP-2026-00042",
            "You have sent this report already",
        ),
    ],
)
def test_the_subject_and_the_body_say_where_the_report_stands(status, subject, says):
    got_subject, text, html = render("report_link", context_report_link_templates(status=status))
    assert got_subject == subject
    assert says in text
    assert says in html


@pytest.mark.unit
def test_the_liaison_who_asked_is_named_and_the_link_is_in_words():
    _, text, html = render("report_link", context_report_link_templates())
    assert text.startswith(
        "Dear Dana Smith,\n\nLee Liaison, your liaison at MIOSHA, asked us to send you a new link"
    )
    assert "- Period: April 1, 2026 through June 30, 2026\n" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert f"Open your report:\n{LINK}\n" in text
    assert f'<a href="{LINK}">Open your report</a>' in html.replace("&amp;", "&")
    assert f">{LINK}<" not in html  # never the address as the link's text
    assert "Roofers &lt;b&gt;&amp; Sons&lt;/b&gt;" in html  # the name escaped


@pytest.mark.unit
def test_another_staff_member_who_asked_is_named_with_the_liaison_beside():
    _, text, html = render("report_link", context_report_link_templates(sent_by="Cora Coordinator"))
    assert "Cora Coordinator of MIOSHA asked us to send you a new link" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert "Cora Coordinator of MIOSHA asked us" in html
