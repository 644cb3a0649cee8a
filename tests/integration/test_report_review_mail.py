"""The partner's report and the liaison's review (``report.submitted``, ``report.accepted``,
``report.revision_requested``) as notify turns them into mail: against real PostgreSQL, Redis
and a real (in-process) SMTP server, each once to the right people."""

import uuid
from datetime import UTC, date, datetime

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
LINK = "https://alliances.example/reporting/reports/abc?sig=1"
COMMENTS = "Add the <script>alert(1)</script> rows & dates.\nSecond line"

SUBJECTS = {
    ("report.submitted", LIAISON): (
        f"Action required: review the quarterly report from {PARTNER} ({REFERENCE})"
    ),
    ("report.submitted", CONTACT): f"We received your quarterly report for {REFERENCE}",
    ("report.accepted", CONTACT): f"Your quarterly report for {REFERENCE} was accepted",
    ("report.revision_requested", CONTACT): (
        f"Action required: please revise your quarterly report for {REFERENCE} by August 17, 2026"
    ),
    ("report.revision_requested", LIAISON): (  # a copy: the partner acts
        f"Copy: revision of the quarterly report of {PARTNER} for {REFERENCE} requested by "
        "August 17, 2026"
    ),
}
RECIPIENTS = {
    "report.submitted": [CONTACT, LIAISON],
    "report.accepted": [CONTACT],
    "report.revision_requested": [CONTACT, LIAISON],
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
        "liaison": {"name": "Lee Liaison", "email": LIAISON},
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
            "reviewed_by": LIAISON,
            "reviewed_at": datetime(2026, 8, 3, 14, 0, tzinfo=UTC),
        }
    return new_event(event_type, producer="reporting", payload=payload).to_message()


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
    return str(part.get_content()).replace("\r\n", "\n")  # SMTP sends CRLF


def subject_of(received):
    return str(received["Subject"]).strip()


def plain(received):
    return text_of(received).replace("\r\n", "\n")


@pytest.mark.parametrize("event_type", sorted(RECIPIENTS))
def test_each_event_mails_the_expected_people_once(
    event_type, redis_client, smtp_server, monkeypatch
):
    consume(report_event(event_type))

    expected = RECIPIENTS[event_type]
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent"] * len(expected)

    received = smtp_server.inbox.wait_for(lambda m: True, count=len(expected))
    by_address = {m["To"]: m for m in received}
    assert sorted(by_address) == expected
    for address, mail in by_address.items():
        assert subject_of(mail) == SUBJECTS[(event_type, address)]
        assert mail["X-Alliance-Reference"] == REFERENCE
        assert "Period: April 1, 2026 through June 30, 2026" in plain(mail)
        assert "Period: April 1, 2026 through June 30, 2026" in html_of(mail)
    rows = stored()
    assert [(m.to_address, m.status) for m in rows] == [(a, "sent") for a in expected]
    assert {(m.reference, m.organization_key) for m in rows} == {(REFERENCE, "roofers b sons b")}


def test_a_submission_asks_the_liaison_to_review_and_gives_the_contact_a_receipt(
    redis_client, smtp_server, monkeypatch
):
    report_id = uuid.uuid4()
    consume(report_event("report.submitted", report_id=report_id, version=2, on_time=False))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    staff_page = f"/reporting/staff/reports/{report_id}"
    [liaison] = smtp_server.inbox.wait_for(lambda m: m["To"] == LIAISON)
    text, html = plain(liaison), html_of(liaison)
    assert text.startswith(f"Dear Lee Liaison,\n\n{PARTNER} submitted the quarterly report")
    assert "- Version: 2 (a resubmission)\n" in text
    assert "- Late: it was due on July 30, 2026\n" in text
    assert "- Partner contact: Dana Smith (dana@example.org)\n" in text
    assert f"{staff_page}\n" in text
    assert f'{staff_page}">Review the report</a>' in html
    [receipt] = smtp_server.inbox.wait_for(lambda m: m["To"] == CONTACT)
    text = plain(receipt)
    assert text.startswith("Dear Dana Smith,\n\nWe received the quarterly report")
    assert "- Version: 2\n" in text
    assert "- Your liaison: Lee Liaison (lee@agency.example)\n" in text
    assert staff_page not in text + html_of(receipt)


def test_an_acceptance_goes_to_the_contact_alone(redis_client, smtp_server, monkeypatch):
    consume(report_event("report.accepted"))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    [mail] = smtp_server.inbox.wait_for(lambda m: True)
    assert mail["To"] == CONTACT
    assert "accepted the quarterly report" in plain(mail)
    assert "accepted the quarterly report" in html_of(mail)


def test_a_revision_request_carries_the_escaped_comments_the_date_and_the_link(
    redis_client, smtp_server, monkeypatch
):
    consume(report_event("report.revision_requested"))
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)

    [contact] = smtp_server.inbox.wait_for(lambda m: m["To"] == CONTACT)
    text, html = plain(contact), html_of(contact)
    assert f"Your liaison's comments:\n\n{COMMENTS}\n" in text
    assert "<script>" not in html
    assert (
        "Add the &lt;script&gt;alert(1)&lt;/script&gt; rows &amp; dates.<br>\nSecond line"
    ) in html
    assert "- New due date: August 17, 2026\n" in text
    assert f"Revise and resubmit the report here:\n{LINK}\n" in text
    assert f'href="{LINK}"' in html
    [copy] = smtp_server.inbox.wait_for(lambda m: m["To"] == LIAISON)
    text = plain(copy)
    assert text.startswith(
        "Dear Lee Liaison,\n\nThis is your copy of the revision request sent to Dana Smith"
    )
    # The liaison's copy links the report's staff page, never the partner's signed link.
    assert "The report in the staff pages:\nhttp" in text
    assert "/reporting/staff/reports/" in text
    assert LINK not in text
    assert LINK not in html_of(copy)
    assert "<script>" not in html_of(copy)


@pytest.mark.parametrize("event_type", sorted(RECIPIENTS))
def test_the_same_event_twice_records_one_set_of_messages(event_type, redis_client):
    report_id = uuid.uuid4()
    message = report_event(event_type, report_id=report_id)

    consume(message)
    consume(message)  # a redelivery
    # Reporting sending the same thing again, under a new event id, is the same cause too.
    consume(report_event(event_type, report_id=report_id))

    expected = RECIPIENTS[event_type]
    assert [m.to_address for m in stored()] == expected
    assert [name for name, _ in queued_tasks(redis_client, "notify")] == [
        "notify.deliver_message"
    ] * len(expected)


def test_a_new_version_or_another_outcome_is_a_new_cause(redis_client):
    report_id = uuid.uuid4()
    consume(report_event("report.submitted", report_id=report_id, version=1))
    consume(report_event("report.revision_requested", report_id=report_id, version=1))
    consume(report_event("report.submitted", report_id=report_id, version=2))
    consume(report_event("report.accepted", report_id=report_id, version=2))

    assert sorted(m.cause for m in stored()) == sorted(
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
    consume(report_event("report.submitted", alliance_id=alliance_id, proposal_id=proposal_id))
    consume(report_event("report.accepted", alliance_id=alliance_id, proposal_id=proposal_id))

    reader = acting("riley@agency.example", "reviewer")
    conflicted = acting("cora@agency.example", "coordinator", conflicts=[PARTNER])
    with database.transaction() as session:
        log = domain.message_log(session, reader, proposal_id=proposal_id)
        assert sorted((m.template, m.to_address) for m in log) == [
            ("alliance_signed_partner", CONTACT),
            ("report_accepted", CONTACT),
            ("report_submitted_liaison", LIAISON),
            ("report_submitted_receipt", CONTACT),
        ]
        assert domain.message_log(session, conflicted) == []
