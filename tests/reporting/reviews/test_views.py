"""The liaison reads a submitted report and accepts it or asks for a revision: the partner
submits through the real form, the liaison asks for a revision (event, new due date, the
revision's own reminders, the old ones never sent), the partner resubmits (version 2, the
comparison shows what changed), the liaison accepts; who is refused, what is a conflict."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from services.reporting import create_app
from services.reporting.models import (
    OutboxEvent,
    Report,
    ReportReminder,
    ReportReview,
    ReportVersion,
)
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens
from services.reporting.reviews import views as review_views
from services.reporting.schedules.domain import reminders_for, rules_from_settings
from services.reporting.worker import database, outbox
from tests.factories import (
    COORDINATOR,
    LIAISON,
    OTHER_LIAISON,
    REVIEWER,
    acting_as,
    alliance_signed_event,
    conflict_declared_event,
    csrf_header,
    partner_submits,
    run_reporting_task,
    signed_in,
)

pytestmark = pytest.mark.integration

DETROIT = ZoneInfo("America/Detroit")
SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)
SUBMITTED_AT = datetime(2026, 4, 20, 15, tzinfo=UTC)
REVIEWED_AT = datetime(2026, 5, 4, 2, tzinfo=UTC)  # 2026-05-03 22:00 in Detroit

COMPLETE = {
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
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
        return first


@pytest.fixture
def submitted(report: Report, monkeypatch: Any) -> Report:
    partner_submits(monkeypatch, report.id, COMPLETE, SUBMITTED_AT)
    return report


def staff_client(person: Any) -> Any:
    """A signed-in client of an app that checks no CSRF token (the HTML form's tests)."""
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    return signed_in(app, person)


def api_client(person: Any) -> tuple[Any, dict[str, str]]:
    """A signed-in client of an app that checks CSRF, and the header its writes need."""
    app = create_app({"TESTING": True})
    client = signed_in(app, person)
    return client, csrf_header(app, client)


def events(kind: str) -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [
            row.message["payload"]
            for row in session.scalars(select(OutboxEvent).where(OutboxEvent.type == kind))
        ]


def review_count() -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(ReportReview)) or 0


def test_revision_resubmission_and_acceptance(submitted, monkeypatch):
    liaison = staff_client(acting_as(LIAISON))
    listed = liaison.get(f"/staff/alliances/{submitted.alliance_id}/reports")
    assert f'href="/staff/reports/{submitted.id}"' in listed.get_data(as_text=True)
    work = liaison.get("/staff/reports").get_data(as_text=True)
    assert f'href="/staff/reports/{submitted.id}"' in work  # waiting for review
    page = liaison.get(f"/staff/reports/{submitted.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Spring roofing safety day" in html
    assert "Version 1" in html
    assert "Reached 85 people." in html
    assert 'value="request_revision"' in html

    monkeypatch.setattr(review_views, "now", lambda: REVIEWED_AT)
    asked = liaison.post(
        f"/staff/reports/{submitted.id}/review",
        data={"action": "request_revision", "comments": "Add the April meeting, please."},
    )
    assert asked.status_code == 303
    assert "reviewed=revision_requested" in asked.headers["Location"]

    new_due = date(2026, 5, 17)  # the request day in Detroit (May 3) + 14 days
    with database.transaction() as session:
        row = session.get(Report, submitted.id)
        assert (row.status, row.due_date) == ("revision_requested", new_due)
        review = session.scalars(select(ReportReview)).one()
        assert (review.version, review.decision, review.reviewed_by) == (
            1,
            "revision_requested",
            LIAISON.email,
        )
        assert review.comments == "Add the April meeting, please."
        reminders = session.scalars(
            select(ReportReminder).where(ReportReminder.report_id == submitted.id)
        ).all()
    old = [r for r in reminders if r.round == 0]
    new = [r for r in reminders if r.round == 1]
    assert old
    assert all(r.skipped and r.sent_at is None for r in old)
    expected = [r for r in reminders_for(new_due, rules_from_settings()) if r.due_at > REVIEWED_AT]
    assert sorted((r.kind, r.days, r.due_at) for r in new) == sorted(
        (r.kind, r.days, r.due_at) for r in expected
    )
    assert all(not r.skipped and r.sent_at is None for r in new)
    [event] = events("report.revision_requested")
    assert event["comments"] == "Add the April meeting, please."
    assert event["due_date"] == "2026-05-17"
    assert event["version"] == 1
    assert event["reviewed_by"] == LIAISON.email
    token = event["report_url"].rsplit("/reporting/reports/", 1)[1]
    assert tokens.read_token(token) == submitted.id

    # The partner opens the same link, changes the report and submits it again: version 2.
    partner = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    form = partner.get(f"/reports/{token}").get_data(as_text=True)
    assert "asked for a revision" in form
    partner_submits(
        monkeypatch,
        submitted.id,
        {
            **COMPLETE,
            "meetings.1.date": "2026-03-26",
            "meetings.1.topic": "The summer heat campaign",
            "meetings.1.attendees": "Dana Smith, Lee Park",
            "outreach.0.number_reached": "95",
        },
        datetime(2026, 5, 10, 15, tzinfo=UTC),
    )
    with database.transaction() as session:
        assert session.get(Report, submitted.id).status == "submitted"
        numbers = session.scalars(
            select(ReportVersion.number).where(ReportVersion.report_id == submitted.id)
        ).all()
    assert sorted(numbers) == [1, 2]

    # The review page shows version 2 and what changed since version 1.
    html = liaison.get(f"/staff/reports/{submitted.id}").get_data(as_text=True)
    assert "Changes from version 1 to version 2" in html
    assert (
        "<del>  Outreach events and training for outside audiences, row 1, Number reached: 85</del>"
        in html
    )
    assert (
        "<ins>  Outreach events and training for outside audiences, row 1, Number reached: 95</ins>"
        in html
    )
    assert "<ins>  Implementation team meetings, row 2, Meeting date: 2026-03-26</ins>" in html
    older = liaison.get(f"/staff/reports/{submitted.id}?version=1&compare=").get_data(as_text=True)
    assert "Changes from" not in older
    assert ">85<" in older

    # The liaison accepts version 2 through the API.
    client, csrf = api_client(acting_as(LIAISON))
    accepted = client.post(f"/api/v1/reports/{submitted.id}/acceptance", headers=csrf)
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json()["decision"] == "accepted"
    assert accepted.get_json()["version"] == 2
    [event] = events("report.accepted")
    assert event["version"] == 2
    assert event["report_id"] == str(submitted.id)
    again = client.post(f"/api/v1/reports/{submitted.id}/acceptance", headers=csrf)
    assert again.status_code == 409
    assert review_count() == 2
    found = client.get(f"/api/v1/reports/{submitted.id}").get_json()
    assert found["status"] == "accepted"
    assert [v["number"] for v in found["versions"]] == [1, 2]
    assert [(r["version"], r["decision"]) for r in found["reviews"]] == [
        (1, "revision_requested"),
        (2, "accepted"),
    ]


def test_the_sweep_sends_the_revisions_reminders_once_and_never_the_old_ones(submitted):
    client, csrf = api_client(COORDINATOR)  # the Coordinator may review any report
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
    client, csrf = api_client(person)
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
    client, csrf = api_client(acting_as(LIAISON))
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


def test_a_revision_request_needs_comments_shown_inline(submitted):
    liaison = staff_client(acting_as(LIAISON))
    for comments in ("", "x" * 10001):
        refused = liaison.post(
            f"/staff/reports/{submitted.id}/review",
            data={"action": "request_revision", "comments": comments},
        )
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert 'href="#comments"' in html  # the error summary links to the field
        assert 'aria-invalid="true"' in html
        assert "Say what to change, in at most 10000 characters." in html
    client, csrf = api_client(acting_as(LIAISON))
    refused = client.post(
        f"/api/v1/reports/{submitted.id}/revision-request", json={"comments": ""}, headers=csrf
    )
    assert refused.status_code == 422
    assert review_count() == 0
    assert events("report.revision_requested") == []
    with database.transaction() as session:
        assert session.get(Report, submitted.id).status == "submitted"


def test_a_conflicted_liaison_cannot_review_the_partners_report_and_nothing_is_stored(submitted):
    """Reporting learns the conflict from review's event (once, however often it arrives),
    and refuses the alliance's own liaison to review its partner's report."""
    declared = conflict_declared_event(LIAISON.id)
    run_reporting_task("reporting.conflict_declared", declared)
    run_reporting_task("reporting.conflict_declared", declared)
    from services.reporting.base import StaffConflict

    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StaffConflict)) == 1

    client, csrf = api_client(acting_as(LIAISON))
    refused = client.post(f"/api/v1/reports/{submitted.id}/acceptance", headers=csrf)
    assert refused.status_code == 403
    assert "conflict of interest" in refused.get_json()["errors"]["_request"][0]
    page = staff_client(acting_as(LIAISON))
    answer = page.post(
        f"/staff/reports/{submitted.id}/review",
        data={"action": "request_revision", "comments": "Please add the dates."},
    )
    assert answer.status_code == 403
    assert review_count() == 0
    assert events("report.accepted") == events("report.revision_requested") == []
    with database.transaction() as session:
        assert session.get(Report, submitted.id).status == "submitted"


def test_a_conclusion_inside_a_revised_reports_period_keeps_the_revisions_due_date(submitted):
    """The revision's due date and its round of reminders stand when the alliance concludes
    inside the report's period: only the period ends earlier."""
    client, csrf = api_client(COORDINATOR)
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


def test_the_staff_page_narrates_the_alliances_own_goal_categories_and_says_when_sent_early(
    clean_databases, redis_client, monkeypatch
):
    """The liaison reads the narratives the partner was asked for (the alliance's goal
    categories, not all of the agency's) and learns the report came before its period ended."""
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    signed.payload["goals"] = [
        {"category": "outreach_communication", "description": "Toolbox talks", "term": "short"}
    ]
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        report_id, period_end = first.id, first.period_end
    early = datetime(2026, 2, 20, 15, tzinfo=UTC)  # inside the first quarter
    assert early.date() < period_end
    data = {
        **COMPLETE,
        "meetings.0.date": "2026-02-10",
        "outreach.0.date": "2026-02-12",
        "confirm_early": "yes",
    }
    partner_submits(monkeypatch, report_id, data, early)
    html = (
        staff_client(acting_as(LIAISON)).get(f"/staff/reports/{report_id}").get_data(as_text=True)
    )
    assert "<h4>Outreach and communication</h4>" in html
    assert "<h4>Training and education</h4>" not in html
    assert f"before the period ended on {period_end.strftime('%B %-d, %Y')}" in html
