"""A report not yet submitted opens for staff who may read it (its liaison, the Coordinator;
never a reviewer): where it stands against its due date in words, its reminders sent and planned,
and a button that sends the partner a new link to the report's form. The liaison or the
Coordinator may send one (page and API), never for an accepted or cancelled report nor once
the alliance ended with nothing more owed; the request is recorded and listed by name, and
``report.link_resent`` reaches notify's real consumer, which mails the partner's contact only,
with the link in words.

A report sent back for a revision is owed again by its new due date: until that day has
passed it is never called overdue (the work list, the report's page, the alliance's reports,
the CSV), however late its first version came and whatever past-due notices went out before;
once the new date has passed it is overdue everywhere. Its earlier submission, judged against
the new date, no longer makes it "on time".

A report past its due date and not submitted says Overdue on every staff page (the work
list, the alliance's reports, the report's own page), in its status and its timing alike:
never "Overdue" beside "Not due yet". Past its due date means by the clock, or as the
deadline sweep already marked it (an operator's ``scan --now`` ahead of the clock).

Reporting's staff pages: an alliance's reports, the liaison's work list, the
Coordinator's dashboard (figures counted from seeded reports) and the CSV export."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

import services.notify.tasks
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.reporting import create_app
from services.reporting.alliances import domain as alliances
from services.reporting.figures import views as figures_views
from services.reporting.models import OutboxEvent, Report, ReportLinkResend
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens
from services.reporting.reports import views as report_views
from services.reporting.reviews import views as review_views
from services.reporting.schedules.domain import ScheduleRules, end_of_day, rules_from_settings
from services.reporting.worker import database, outbox
from shared.times import agency_time
from tests.helpers import pin_clock
from tests.reporting.factories import partner_submits, run_reporting_task
from tests.reporting.reviews.test_views import COMPLETE, api_client, staff_client
from tests.reporting.reviews.test_views import ENDS as revision_not_overdue_ENDS
from tests.reporting.reviews.test_views import SIGNED as revision_not_overdue_SIGNED
from tests.review.factories import (
    LIAISON,
    OTHER_LIAISON,
    acting_as,
    alliance_signed_event,
    conflict_declared_event,
)
from tests.shared.factories import COORDINATOR, REVIEWER, acting, signed_in
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


@pytest.fixture
def revised(clean_databases: Any, redis_client: Any, monkeypatch: Any) -> Report:
    """A report past due, swept (its past-due notices sent), submitted late, and sent back
    for a revision today: owed again in 14 days."""
    today = datetime.now(UTC).astimezone(rules_from_settings().timezone).date()
    event = alliance_signed_event(
        signing_date=revision_not_overdue_SIGNED, ends_on=revision_not_overdue_ENDS
    )
    run_reporting_task("reporting.alliance_signed", event)
    with database.transaction() as session:
        late = reports.reports_of(session, alliance_id=event.payload["alliance_id"])[0]
        session.expunge(late)
    assert late.due_date < today - timedelta(days=20)
    with database.transaction() as session:
        reports.sweep(session, now=datetime.now(UTC), outbox=outbox)
        assert session.get(Report, late.id).status == "overdue"
    partner_submits(monkeypatch, late.id, COMPLETE, datetime.now(UTC) - timedelta(days=1))
    asked = staff_client(acting_as(LIAISON)).post(
        f"/staff/reports/{late.id}/review",
        data={"action": "request_revision", "comments": "Add the city of each event."},
    )
    assert asked.status_code == 303
    with database.transaction() as session:
        row = session.get(Report, late.id)
        assert row is not None
        assert (row.status, row.due_date) == ("revision_requested", today + timedelta(days=14))
        session.expunge(row)
    return row


def long(day: date) -> str:
    """A day as staff pages write it: "March 31, 2026"."""
    return f"{day:%B} {day.day}, {day.year}"


def row_of(html: str, report: Report) -> str:
    period = f"{long(report.period_start)} to {long(report.period_end)}"
    rows = [row for row in re.findall(r"<tr>.*?</tr>", html, re.S) if period in row]
    assert len(rows) == 1, rows
    return rows[0]


def csv_row(report: Report) -> dict[str, str]:
    answer = staff_client(COORDINATOR).get("/staff/reports.csv")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    period = f"{report.period_start.isoformat()}/{report.period_end.isoformat()}"
    [row] = [row for row in rows if row["period"] == period and row["kind"] == "Quarterly"]
    return row


def test_a_revision_not_yet_due_is_never_called_overdue(revised):
    liaison = staff_client(acting_as(LIAISON))
    work = liaison.get("/staff/reports").text
    assert str(revised.id) not in work.split('id="overdue"', 1)[1]
    soon = liaison.get("/staff/reports?view=due_soon").text
    row = row_of(soon.split('id="due-soon"', 1)[1], revised)
    assert '<td data-label="Status">Revision requested</td>' in row
    assert "Overdue" not in row

    page = liaison.get(f"/staff/reports/{revised.id}").text
    assert "Status: <strong>Revision requested</strong>" in page
    assert '<span id="due-words">(Revision due in 14 days)</span>' in page
    assert "Overdue" not in page  # its earlier notices are "Past-due notice"s
    assert "Past-due notice, 1 day after the due date" in page

    listed = liaison.get(f"/staff/alliances/{revised.alliance_id}/reports").text
    row = row_of(listed, revised)
    assert '<td data-label="Status">Revision requested</td>' in row
    assert '<td data-label="On time">Not due yet</td>' in row
    assert "Overdue" not in row

    exported = csv_row(revised)
    assert (exported["status"], exported["on time"]) == ("Revision requested", "")


def test_a_revision_past_its_new_due_date_is_overdue_everywhere(revised):
    yesterday = datetime.now(UTC).astimezone(rules_from_settings().timezone).date() - timedelta(
        days=1
    )
    with database.transaction() as session:
        session.execute(update(Report).where(Report.id == revised.id).values(due_date=yesterday))
    liaison = staff_client(acting_as(LIAISON))
    work = liaison.get("/staff/reports").text
    assert f'href="/staff/reports/{revised.id}"' in work.split('id="overdue"', 1)[1]
    page = liaison.get(f"/staff/reports/{revised.id}").text
    assert '<span id="due-words">(Overdue by 1 day)</span>' in page
    listed = liaison.get(f"/staff/alliances/{revised.alliance_id}/reports").text
    assert '<td data-label="On time">Overdue</td>' in row_of(listed, revised)
    assert csv_row(revised)["on time"] == "no"


def signed_on(signing: date) -> list[Report]:
    event = alliance_signed_event(signing_date=signing, ends_on=signing + timedelta(days=729))
    run_reporting_task("reporting.alliance_signed", event)
    with database.transaction() as session:
        found = reports.reports_of(session, alliance_id=event.payload["alliance_id"])
        session.expunge_all()
        return found


def assert_says_overdue(report: Report) -> None:
    liaison = staff_client(acting_as(LIAISON))
    listed = liaison.get(f"/staff/alliances/{report.alliance_id}/reports").text
    row = row_of(listed, report)
    assert '<td data-label="Status">Overdue</td>' in row
    assert '<td data-label="On time">Overdue</td>' in row
    assert "Not due yet" not in row

    work = liaison.get("/staff/reports").text
    overdue = work.split('id="overdue"', 1)[1]
    assert '<td data-label="Status">Overdue</td>' in row_of(overdue, report)

    page = liaison.get(f"/staff/reports/{report.id}").text
    assert "Status: <strong>Overdue</strong>" in page
    assert "Not due yet" not in page


def test_a_report_the_sweep_marked_overdue_is_not_called_not_due_yet(
    clean_databases: Any, redis_client: Any
) -> None:
    today = datetime.now(UTC).date()
    owed = next(r for r in signed_on(today) if r.due_date > today + timedelta(days=1))
    ahead = end_of_day(owed.due_date, rules_from_settings()) + timedelta(days=2)
    with database.transaction() as session:
        reports.sweep(session, now=ahead, outbox=outbox)  # the operator's scan --now
    with database.transaction() as session:
        assert session.get(Report, owed.id).status == "overdue"
    assert_says_overdue(owed)


def test_a_report_past_its_due_date_says_overdue_before_the_sweep_ran(
    clean_databases: Any, redis_client: Any
) -> None:
    today = datetime.now(UTC).date()
    past = next(r for r in signed_on(today - timedelta(days=400)) if r.due_date < today)
    assert past.status == "scheduled"  # no sweep ran
    assert_says_overdue(past)


DETROIT = ZoneInfo("America/Detroit")
ANNUAL = ScheduleRules(timezone=DETROIT, quarterly=False)
SIGNED_REPORTING_PAGES = date(2024, 1, 15)
ENDS_REPORTING_PAGES = date(2027, 1, 14)  # annual reports due 2025-03-15, 2026-03-15, 2027-03-15
TRICKY = '=HYPERLINK("http://evil.example") Builders'


def local(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=DETROIT).astimezone(UTC)


NOW_REPORTING_PAGES = local(date(2026, 12, 1))  # 2026's reports are due or overdue, 2027's not yet


def seed(name: str, liaison, division: str) -> uuid.UUID:
    event = alliance_signed_event(
        name, signing_date=SIGNED_REPORTING_PAGES, ends_on=ENDS_REPORTING_PAGES
    )
    event.payload["liaison"] = {"id": liaison.id, "name": liaison.name, "email": liaison.email}
    event.payload["division"] = division
    with database.transaction() as session:
        alliances.record_signed(session, event=event)
        reports.schedule_term(
            session,
            alliance_id=event.payload["alliance_id"],
            term=0,
            signing_date=SIGNED_REPORTING_PAGES,
            ends_on=ENDS_REPORTING_PAGES,
            rules=ANNUAL,
        )
    return event.payload["alliance_id"]


def submit(alliance_id: uuid.UUID, due: date, at: datetime) -> None:
    with database.transaction() as session:
        report = session.scalars(
            select(Report).where(Report.alliance_id == alliance_id, Report.due_date == due)
        ).one()
        reports.mark_submitted(session, report_id=report.id, at=at)


@pytest.fixture
def _pinned_clock(monkeypatch) -> None:
    """The pages read the clock: theirs is pinned to NOW, as every call here is."""
    for module in (figures_views, report_views):
        pin_clock(monkeypatch, module, NOW_REPORTING_PAGES)


@pytest.fixture
def program(clean_databases, redis_client) -> dict[str, uuid.UUID]:
    """Lee's alliance: 2025's report on time, 2026's overdue. Ola's: 2025's late, 2026's on
    time, both waiting for review. 2027's reports are not due yet."""
    lee = seed("Michigan Roofing Contractors Association", LIAISON, "construction_safety_health")
    ola = seed(TRICKY, OTHER_LIAISON, "general_industry_safety_health")
    submit(lee, date(2025, 3, 15), local(date(2025, 3, 1)))
    submit(ola, date(2025, 3, 15), local(date(2025, 3, 16), hour=0))  # a day late
    submit(ola, date(2026, 3, 15), local(date(2026, 3, 15), hour=23))  # the last hour
    return {"lee": lee, "ola": ola}


@pytest.mark.usefixtures("_pinned_clock")
def test_an_alliances_reports_page_shows_each_report_for_any_staff(program):
    app = create_app({"TESTING": True})
    page = signed_in(app, REVIEWER).get(f"/staff/alliances/{program['ola']}/reports")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    dues = [text.index(f"March 15, {year}") for year in (2025, 2026, 2027)]
    assert dues == sorted(dues)
    assert "Late" in text
    assert "On time" in text
    assert "Not due yet" in text
    assert (
        signed_in(app, REVIEWER).get(f"/staff/alliances/{uuid.uuid4()}/reports").status_code == 404
    )
    anonymous = app.test_client().get(f"/staff/alliances/{program['ola']}/reports")
    assert anonymous.status_code in (302, 303)
    assert "sign-in" in anonymous.headers["Location"]
