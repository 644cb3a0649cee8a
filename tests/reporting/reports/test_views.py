"""A report not yet submitted opens for staff who may read it (its liaison, the Coordinator;
never a reviewer): where it stands against its due date in words, its reminders sent and planned,
and a button that sends the partner a new link to the report's form. The liaison or the
Coordinator may send one (page and API), never for an accepted or cancelled report nor once
the alliance ended with nothing more owed; the request is recorded and listed by name, and
``report.link_resent`` reaches notify's real consumer, which mails the partner's contact only,
with the link in words."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

import services.notify.tasks
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.reporting.models import OutboxEvent, Report, ReportLinkResend
from services.reporting.reports import domain as reports
from services.reporting.reports import review as reviews
from services.reporting.reports import tokens
from services.reporting.reviews import views as review_views
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database, outbox
from shared.domain import Conflict, Forbidden
from shared.times import agency_time
from tests.factories import (
    COORDINATOR,
    LIAISON,
    OTHER_LIAISON,
    REVIEWER,
    acting,
    acting_as,
    alliance_change_event,
    alliance_signed_event,
    conflict_declared_event,
    partner_submits,
    run_reporting_task,
)
from tests.integration.test_report_review import COMPLETE, api_client, staff_client
from tests.smtp import text_of

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 10, 17, tzinfo=UTC)  # noon in Detroit
TODAY = date(2026, 11, 10)
SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)


@pytest.fixture
def signed(clean_databases: Any, redis_client: Any, monkeypatch: Any) -> Any:
    """An alliance signed on SIGNED whose liaison is Lee; the report pages' clock at NOW."""
    event = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", event)
    monkeypatch.setattr(review_views, "now", lambda: NOW)
    return event


def report_due(signed: Any, due: date) -> Report:
    """The alliance's first report, moved to ``due`` (its reminders left as scheduled)."""
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.execute(update(Report).where(Report.id == first.id).values(due_date=due))
        session.expunge(first)
    return first


def overdue_report(signed: Any) -> Report:
    """The first report (due 2026-04-30), swept at NOW: its past-due notices went out."""
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
    with database.transaction() as session:
        reports.sweep(session, now=NOW, outbox=outbox)
    return first


def link_events() -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [
            row.message
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "report.link_resent")
            )
        ]


def resends() -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(ReportLinkResend)) or 0


# -- the page --------------------------------------------------------------------------------


def test_an_overdue_report_opens_with_its_standing_reminders_and_the_button(signed):
    report = overdue_report(signed)
    assert report.due_date == date(2026, 4, 30)
    for person in (acting_as(LIAISON), COORDINATOR):
        page = staff_client(person).get(f"/staff/reports/{report.id}")
        assert page.status_code == 200, person.email
    assert staff_client(REVIEWER).get(f"/staff/reports/{report.id}").status_code == 403
    html = staff_client(acting_as(LIAISON)).get(f"/staff/reports/{report.id}").text
    assert "Status: <strong>Overdue</strong>" in html
    assert "Overdue by 194 days" in html  # April 30 to November 10
    assert "Partner contact: Dana Smith" in html
    assert "has not submitted this report yet" in html
    # Every reminder of the schedule, in words: the most recent one due went out, the older
    # ones due with it were passed over, the escalation waits for its day.
    assert "Alert to the Coordinator, 30 days after the due date" in html
    assert "Past-due notice, 14 days after the due date" in html
    assert "Reminder before the due date, 14 days before the due date" in html
    assert html.count('<td data-label="Sent or planned">Sent</td>') == 1
    assert "Not sent: a later reminder went out instead" in html
    assert "Dana Smith (partner contact), a copy to Lee Liaison" in html
    assert agency_time(NOW) in html  # the one sent, at the sweep's moment in Detroit
    assert "Send the partner a new link to this report" in html


@pytest.mark.parametrize(
    ("due", "words"),
    [
        (TODAY + timedelta(days=5), "(Due in 5 days)"),
        (TODAY, "(Due today)"),
        (TODAY + timedelta(days=1), "(Due tomorrow)"),
        (TODAY + timedelta(days=45), "(Not due yet)"),
        (TODAY - timedelta(days=12), "(Overdue by 12 days)"),
        (TODAY - timedelta(days=1), "(Overdue by 1 day)"),
    ],
)
def test_the_page_says_where_a_scheduled_report_stands(signed, due, words):
    report = report_due(signed, due)
    html = staff_client(acting_as(LIAISON)).get(f"/staff/reports/{report.id}").text
    assert f'<span id="due-words">{words}</span>' in html


def test_another_liaison_and_a_conflicted_liaison_cannot_open_it(signed):
    report = overdue_report(signed)
    other = staff_client(acting_as(OTHER_LIAISON))
    assert other.get(f"/staff/reports/{report.id}").status_code == 403
    run_reporting_task("reporting.conflict_declared", conflict_declared_event(LIAISON.id))
    assert staff_client(acting_as(LIAISON)).get(f"/staff/reports/{report.id}").status_code == 403


def test_every_report_of_the_work_list_and_the_alliance_links_its_page(signed):
    report = overdue_report(signed)
    liaison = staff_client(acting_as(LIAISON))
    work = liaison.get("/staff/reports").text
    overdue = work.split('id="overdue"', 1)[1]
    assert f'href="/staff/reports/{report.id}"' in overdue
    listed = liaison.get(f"/staff/alliances/{report.alliance_id}/reports").text
    with database.transaction() as session:
        ids = [r.id for r in reports.reports_of(session, alliance_id=report.alliance_id)]
    assert all(f'href="/staff/reports/{report_id}"' in listed for report_id in ids)


# -- sending a new link ------------------------------------------------------------------------


def test_the_liaison_sends_a_new_link_from_the_page_and_the_partner_gets_it(
    signed, smtp_server, monkeypatch
):
    report = overdue_report(signed)
    liaison = staff_client(acting_as(LIAISON))
    sent = liaison.post(f"/staff/reports/{report.id}/link")
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith(f"/staff/reports/{report.id}?sent=link#link")
    html = liaison.get(f"/staff/reports/{report.id}?sent=link").text
    assert "A new link to this report is on its way to Dana Smith" in html
    assert f"Link sent again on {agency_time(NOW)} by Lee Liaison" in html

    [message] = link_events()
    payload = message["payload"]
    assert {key: payload[key] for key in ("report_id", "alliance_id", "kind", "term")} == {
        "report_id": str(report.id),
        "alliance_id": str(report.alliance_id),
        "kind": report.kind,
        "term": 0,
    }
    assert payload["reference"] == signed.payload["reference"]
    assert payload["partner_name"] == signed.payload["partner"]["name"]
    assert payload["contact"]["email"] == "dana@example.org"
    assert payload["liaison"]["name"] == "Lee Liaison"
    assert (payload["period_start"], payload["period_end"], payload["due_date"]) == (
        report.period_start.isoformat(),
        report.period_end.isoformat(),
        "2026-04-30",
    )
    assert (payload["status"], payload["sent_by"]) == ("overdue", "Lee Liaison")
    assert datetime.fromisoformat(payload["sent_at"]) == NOW
    token = payload["report_url"].rsplit("/reporting/reports/", 1)[1]
    assert tokens.read_token(token) == report.id

    # Notify's real consumer, twice (a redelivery): one message, to the partner's contact.
    for _ in range(2):
        services.notify.tasks.celery.tasks["notify.report_link_resent"](event=message)
    with notify_database.transaction() as session:
        stored = session.scalars(select(Message)).all()
        assert [(m.to_address, m.recipient, m.template) for m in stored] == [
            ("dana@example.org", "partner", "report_link")
        ]
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server.port))
    assert services.notify.tasks.deliver_message(message_id=str(stored[0].id)) == "sent"
    [mail] = smtp_server.inbox.wait_for(lambda m: True)
    assert mail["To"] == "dana@example.org"
    assert str(mail["Subject"]).strip() == (
        f"Action required: a new link to your overdue quarterly report for "
        f"{signed.payload['reference']}"
    )
    html_part = str(mail.get_body(preferencelist=("html",)).get_content())
    assert ">Open your report</a>" in html_part
    assert "Lee Liaison, your liaison at" in text_of(mail)


def test_the_coordinator_sends_one_through_the_api(signed):
    report = overdue_report(signed)
    client, csrf = api_client(COORDINATOR)
    answer = client.post(f"/api/v1/reports/{report.id}/link", headers=csrf)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["report_id"] == str(report.id)
    assert body["sent_by"] == COORDINATOR.name
    found = client.get(f"/api/v1/reports/{report.id}").get_json()
    assert [link["sent_by"] for link in found["links_sent"]] == [COORDINATOR.name]
    [event] = link_events()
    assert event["payload"]["sent_by"] == COORDINATOR.name


@pytest.mark.parametrize(
    "person",
    [REVIEWER, acting_as(OTHER_LIAISON), acting("coordinator-less@agency.example")],
    ids=["reviewer", "other-liaison", "no-role"],
)
def test_who_else_asks_is_refused_and_nothing_is_sent(signed, person):
    report = overdue_report(signed)
    client, csrf = api_client(person)
    assert client.post(f"/api/v1/reports/{report.id}/link", headers=csrf).status_code == 403
    assert staff_client(person).post(f"/staff/reports/{report.id}/link").status_code == 403
    assert resends() == 0
    assert link_events() == []


def test_a_conflicted_liaison_is_refused(signed):
    report = overdue_report(signed)
    run_reporting_task("reporting.conflict_declared", conflict_declared_event(LIAISON.id))
    client, csrf = api_client(acting_as(LIAISON))
    refused = client.post(f"/api/v1/reports/{report.id}/link", headers=csrf)
    assert refused.status_code == 403
    assert "conflict of interest" in refused.get_json()["errors"]["_request"][0]
    assert resends() == 0


def test_no_such_report_is_404(signed):
    client, csrf = api_client(COORDINATOR)
    assert client.post(f"/api/v1/reports/{uuid.uuid4()}/link", headers=csrf).status_code == 404


def test_an_accepted_report_gets_no_new_link(signed, monkeypatch):
    report = report_due(signed, date(2026, 4, 30))
    partner_submits(monkeypatch, report.id, COMPLETE, datetime(2026, 4, 20, 15, tzinfo=UTC))
    client, csrf = api_client(acting_as(LIAISON))
    assert client.post(f"/api/v1/reports/{report.id}/acceptance", headers=csrf).status_code == 201
    refused = client.post(f"/api/v1/reports/{report.id}/link", headers=csrf)
    assert refused.status_code == 409
    assert refused.get_json()["errors"]["_request"] == [
        "The report was accepted: the partner has nothing more to do on it."
    ]
    page = staff_client(acting_as(LIAISON))
    assert "Send the partner a new link" not in page.get(f"/staff/reports/{report.id}").text
    refused_page = page.post(f"/staff/reports/{report.id}/link")
    assert refused_page.status_code == 409
    assert "No link was sent. The report was accepted" in refused_page.text
    assert resends() == 0
    assert link_events() == []


def test_once_the_alliance_ended_only_a_report_still_owed_gets_a_new_link(signed, monkeypatch):
    first = report_due(signed, date(2026, 4, 30))
    partner_submits(monkeypatch, first.id, COMPLETE, datetime(2026, 4, 20, 15, tzinfo=UTC))
    run_reporting_task(
        "reporting.alliance_concluded",
        alliance_change_event(signed, "alliance.concluded", concluded_on=date(2026, 8, 15)),
    )
    with database.transaction() as session:
        found = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])
        owed = [r for r in found if r.status not in ("submitted", "cancelled")]
        cancelled = [r for r in found if r.status == "cancelled"]
    assert owed
    assert cancelled
    final = max(owed, key=lambda r: r.period_end)
    assert final.period_end == date(2026, 8, 15)  # the final report, still owed
    client, csrf = api_client(acting_as(LIAISON))
    submitted = client.post(f"/api/v1/reports/{first.id}/link", headers=csrf)
    assert submitted.status_code == 409
    assert "The alliance was concluded" in submitted.get_json()["errors"]["_request"][0]
    gone = client.post(f"/api/v1/reports/{cancelled[0].id}/link", headers=csrf)
    assert gone.status_code == 409
    assert "cancelled" in gone.get_json()["errors"]["_request"][0]
    assert client.post(f"/api/v1/reports/{final.id}/link", headers=csrf).status_code == 201
    assert resends() == 1


# -- the domain's rules, without the web -------------------------------------------------------


def test_the_domain_records_the_request_and_names_who_asked(signed):
    report = overdue_report(signed)
    with database.transaction() as session:
        sent = reviews.resend_link(
            session, acting=acting_as(LIAISON), report_id=report.id, outbox=outbox, now=NOW
        )
        assert (sent.sent_by, sent.sent_by_email, sent.sent_at) == (
            "Lee Liaison",
            LIAISON.email,
            NOW,
        )
    nameless = acting("coord@agency.example", "coordinator", name="")
    with database.transaction() as session:
        sent = reviews.resend_link(
            session, acting=nameless, report_id=report.id, outbox=outbox, now=NOW
        )
        assert sent.sent_by == "coord@agency.example"  # no name known: the address
    for person, error in ((REVIEWER, Forbidden), (acting_as(OTHER_LIAISON), Forbidden)):
        with pytest.raises(error), database.transaction() as session:
            reviews.resend_link(session, acting=person, report_id=report.id, outbox=outbox, now=NOW)
    with database.transaction() as session:
        session.execute(update(Report).where(Report.id == report.id).values(status="cancelled"))
    with pytest.raises(Conflict), database.transaction() as session:
        reviews.resend_link(
            session, acting=COORDINATOR, report_id=report.id, outbox=outbox, now=NOW
        )
    assert resends() == 2
    assert len(link_events()) == 2


def test_due_words_follow_the_agency_day(signed):
    rules = rules_from_settings()
    report = report_due(signed, date(2026, 11, 10))
    late_evening = datetime(2026, 11, 11, 3, tzinfo=UTC)  # still November 10 in Detroit
    with database.transaction() as session:
        row = session.get(Report, report.id)
        assert reviews.due_in_words(row, now=late_evening, rules=rules) == "Due today"
        assert (
            reviews.due_in_words(row, now=datetime(2026, 11, 11, 6, tzinfo=UTC), rules=rules)
            == "Overdue by 1 day"
        )
