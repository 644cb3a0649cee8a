"""A revision request's new due date (SPEC, report schedule): the later of the report's
current due date and 14 days after the request (in the agency's time zone), never earlier;
the liaison may choose a later date (form and API), and an earlier one is refused beside
its field. The revision's reminders follow the new due date.

The liaison reads a submitted report and accepts it or asks for a revision: the partner
submits through the real form, the liaison asks for a revision (event, new due date, the
revision's own reminders, the old ones never sent), the partner resubmits (version 2, the
comparison shows what changed), the liaison accepts; who is refused, what is a conflict."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update

from services.reporting import create_app
from services.reporting.models import OutboxEvent, Report, ReportReminder
from services.reporting.reports import domain as reports
from services.reporting.reviews import views as review_views
from services.reporting.worker import database, outbox
from tests.reporting.factories import partner_submits, run_reporting_task
from tests.reporting.reviews.helpers import (
    REQUESTED_AT,
    events,
    expected_reminders,
    nothing_stored,
    review_count,
    staff_client,
    stored,
)
from tests.reporting.reviews.test_views import COMPLETE, ENDS, SIGNED, api_client
from tests.review.factories import LIAISON, OTHER_LIAISON, acting_as, alliance_signed_event
from tests.shared.factories import COORDINATOR, REVIEWER, csrf_header, signed_in

pytestmark = pytest.mark.integration

SUBMITTED_AT = datetime(2026, 12, 1, 15, tzinfo=UTC)


def submitted_due(monkeypatch: Any, due: date) -> Report:
    """The alliance's first report, due on ``due``, submitted by the partner."""
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.execute(update(Report).where(Report.id == first.id).values(due_date=due))
        session.expunge(first)
    partner_submits(monkeypatch, first.id, COMPLETE, SUBMITTED_AT)
    monkeypatch.setattr(review_views, "now", lambda: REQUESTED_AT)
    return first


def test_the_liaison_may_choose_a_later_date_in_the_api(clean_databases, redis_client, monkeypatch):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    client, csrf = api_client(acting_as(LIAISON))
    answer = client.post(
        f"/api/v1/reports/{report.id}/revision-request",
        json={"comments": "Add the April meeting.", "due_date": "2027-02-28"},
        headers=csrf,
    )
    assert answer.status_code == 201, answer.get_json()
    status, due, reminders, payloads = stored(report)
    assert (status, due) == ("revision_requested", date(2027, 2, 28))
    assert reminders == expected_reminders(date(2027, 2, 28))
    assert payloads == ["2027-02-28"]


def test_an_earlier_date_is_refused_with_422_in_the_api(clean_databases, redis_client, monkeypatch):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    client, csrf = api_client(acting_as(LIAISON))
    for chosen, message in (
        ("2026-12-31", "Choose 2027-01-30 or later"),
        ("2030-01-01", "Choose a date no later than"),
        ("30/01/2027", "Enter a date like"),
    ):
        refused = client.post(
            f"/api/v1/reports/{report.id}/revision-request",
            json={"comments": "Add the April meeting.", "due_date": chosen},
            headers=csrf,
        )
        assert refused.status_code == 422
        assert message in " ".join(refused.get_json()["errors"]["due_date"])
    nothing_stored(report)


SIGNED_REPORT_REVIEW = date(2026, 1, 15)
ENDS_REPORT_REVIEW = date(2028, 1, 14)
SUBMITTED_AT_REPORT_REVIEW = datetime(2026, 4, 20, 15, tzinfo=UTC)

COMPLETE_REPORT_REVIEW = {
    "meetings.0.date": "2026-02-10",
    "meetings.0.topic": "Planning the spring safety day",
    "meetings.0.attendees": "Dana Smith (Roofers Association), Lee Park (agency liaison)",
    "outreach.0.date": "2026-03-05",
    "outreach.0.event": "Spring roofing safety day",
    "outreach.0.city": "Lansing",
    "outreach.0.state": "MI",
    "outreach.0.emphasis_area": "heat",
    "outreach.0.number_reached": "85",
    "narratives.outreach_communication.results": "Reached 85 people.",
}


@pytest.fixture
def report(clean_databases: Any, redis_client: Any) -> Report:
    """The first report of a freshly signed alliance whose liaison is Lee, still owed."""
    signed = alliance_signed_event(signing_date=SIGNED_REPORT_REVIEW, ends_on=ENDS_REPORT_REVIEW)
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
        return first


@pytest.fixture
def submitted(report: Report, monkeypatch: Any) -> Report:
    partner_submits(monkeypatch, report.id, COMPLETE_REPORT_REVIEW, SUBMITTED_AT_REPORT_REVIEW)
    return report


def api_client_report_review(person: Any) -> tuple[Any, dict[str, str]]:
    """A signed-in client of an app that checks CSRF, and the header its writes need."""
    app = create_app({"TESTING": True})
    client = signed_in(app, person)
    return client, csrf_header(app, client)


def test_the_sweep_sends_the_revisions_reminders_once_and_never_the_old_ones(submitted):
    client, csrf = api_client_report_review(COORDINATOR)  # the Coordinator may review any report
    asked = client.post(
        f"/api/v1/reports/{submitted.id}/revision-request",
        json={"comments": "The outreach numbers are missing a city."},
        headers=csrf,
    )
    assert asked.status_code == 201, asked.get_json()
    with database.transaction() as session:
        new = session.scalars(
            select(ReportReminder)
            .where(ReportReminder.report_id == submitted.id, ReportReminder.round == 1)
            .order_by(ReportReminder.due_at)
        ).all()
        moments = [r.due_at for r in new]
    assert moments
    for moment in moments:  # every sweep sends other reports' reminders too: count ours
        for _ in range(2):  # the same instant again sends nothing more
            with database.transaction() as session:
                reports.sweep(session, now=moment, outbox=outbox)
    with database.transaction() as session:
        reminders = session.scalars(
            select(ReportReminder).where(ReportReminder.report_id == submitted.id)
        ).all()
        sent = session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("report.%"))).all()
        due = session.get(Report, submitted.id).due_date
    assert all(r.sent_at is None for r in reminders if r.round == 0)
    sent_at = {r.id: r.sent_at for r in reminders}
    assert [sent_at[r.id] for r in new] == moments
    ours = [
        e.message["payload"]
        for e in sent
        if e.message["payload"]["report_id"] == str(submitted.id)
        and "reminder" in e.message["payload"]
    ]
    assert sorted((e["reminder"], e["days"]) for e in ours) == sorted((r.kind, r.days) for r in new)
    assert {e["due_date"] for e in ours} == {due.isoformat()}


@pytest.mark.parametrize("person", [acting_as(OTHER_LIAISON), REVIEWER], ids=["other", "reviewer"])
def test_another_liaison_and_a_reviewer_are_refused_and_nothing_is_stored(submitted, person):
    """Another alliance's liaison and a reviewer read nothing of the report (those who answer
    for the partner's reports read them) and may not review it."""
    page = staff_client(person)
    assert page.get(f"/staff/reports/{submitted.id}").status_code == 403
    for action in ("accept", "request_revision"):
        refused = page.post(
            f"/staff/reports/{submitted.id}/review", data={"action": action, "comments": "No."}
        )
        assert refused.status_code == 403
    client, csrf = api_client_report_review(person)
    assert client.get(f"/api/v1/reports/{submitted.id}").status_code == 403
    assert (
        client.post(f"/api/v1/reports/{submitted.id}/acceptance", headers=csrf).status_code == 403
    )
    refused = client.post(
        f"/api/v1/reports/{submitted.id}/revision-request", json={"comments": "No."}, headers=csrf
    )
    assert refused.status_code == 403
    assert review_count() == 0
    assert events("report.accepted") == events("report.revision_requested") == []
    with database.transaction() as session:
        row = session.get(Report, submitted.id)
        assert row.status == "submitted"
        assert not session.scalar(
            select(func.count()).select_from(ReportReminder).where(ReportReminder.round > 0)
        )


def test_a_report_not_submitted_cannot_be_reviewed(report):
    client, csrf = api_client_report_review(acting_as(LIAISON))
    assert client.post(f"/api/v1/reports/{report.id}/acceptance", headers=csrf).status_code == 409
    refused = client.post(
        f"/api/v1/reports/{report.id}/revision-request", json={"comments": "Why?"}, headers=csrf
    )
    assert refused.status_code == 409
    page = staff_client(acting_as(LIAISON)).get(f"/staff/reports/{report.id}")
    assert page.status_code == 200
    assert "has not submitted this report yet" in page.get_data(as_text=True)
    assert 'value="accept"' not in page.get_data(as_text=True)
    assert review_count() == 0
    with database.transaction() as session:
        assert session.get(Report, report.id).status == "scheduled"
    assert (
        client.post(f"/api/v1/reports/{uuid.uuid4()}/acceptance", headers=csrf).status_code == 404
    )


def test_a_conclusion_inside_a_revised_reports_period_keeps_the_revisions_due_date(submitted):
    """The revision's due date and its round of reminders stand when the alliance concludes
    inside the report's period: only the period ends earlier."""
    client, csrf = api_client_report_review(COORDINATOR)
    asked = client.post(
        f"/api/v1/reports/{submitted.id}/revision-request",
        json={"comments": "Add the city of each event."},
        headers=csrf,
    )
    assert asked.status_code == 201, asked.get_json()
    with database.transaction() as session:
        before = session.get(Report, submitted.id)
        revision_due = before.due_date
        assert before.period_start < date(2026, 3, 1) < before.period_end
        rounds_before = {
            (r.round, r.kind, r.days): (r.due_at, r.sent_at, r.skipped)
            for r in session.scalars(
                select(ReportReminder).where(ReportReminder.report_id == submitted.id)
            )
        }
    with database.transaction() as session:
        reports.cut_schedule(
            session, alliance_id=submitted.alliance_id, effective_on=date(2026, 3, 1)
        )
    with database.transaction() as session:
        after = session.get(Report, submitted.id)
        rounds_after = {
            (r.round, r.kind, r.days): (r.due_at, r.sent_at, r.skipped)
            for r in session.scalars(
                select(ReportReminder).where(ReportReminder.report_id == submitted.id)
            )
        }
    assert (after.status, after.due_date, after.period_end) == (
        "revision_requested",
        revision_due,
        date(2026, 3, 1),
    )
    assert rounds_after == rounds_before
