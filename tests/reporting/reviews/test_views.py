"""The liaison reads a submitted report and accepts it or asks for a revision: the partner
submits through the real form, the liaison asks for a revision (event, new due date, the
revision's own reminders, the old ones never sent), the partner resubmits (version 2, the
comparison shows what changed), the liaison accepts; who is refused, what is a conflict.

A revision request's new due date (SPEC, report schedule): the later of the report's
current due date and 14 days after the request (in the agency's time zone), never earlier;
the liaison may choose a later date (form and API), and an earlier one is refused beside
its field. The revision's reminders follow the new due date.

The partner's report page (the signed link, ``/reports/<token>``) after the liaison's
review: an accepted report says so, and when; after a revision request, the form shows what
the liaison asked above it.

A report's reviews say who reviewed them by name, on the report's page, in its printout
(the partner's PDF) and beside the e-mail address in the API; a review recorded before names
were kept still reads, by the address."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from services.reporting import create_app
from services.reporting.models import (
    Report,
    ReportReminder,
    ReportReview,
    ReportVersion,
)
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens
from services.reporting.reviews import views as review_views
from services.reporting.schedules.domain import reminders_for, rules_from_settings
from services.reporting.worker import database
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
from tests.review.factories import (
    LIAISON,
    acting_as,
    alliance_signed_event,
    conflict_declared_event,
)
from tests.shared.factories import acting, csrf_header, signed_in

pytestmark = pytest.mark.integration
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


def api_client(person: Any) -> tuple[Any, dict[str, str]]:
    """A signed-in client of an app that checks CSRF, and the header its writes need."""
    app = create_app({"TESTING": True})
    client = signed_in(app, person)
    return client, csrf_header(app, client)


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


SUBMITTED_AT_REPORT_REVISION_DUE = datetime(2026, 12, 1, 15, tzinfo=UTC)


def submitted_due(monkeypatch: Any, due: date) -> Report:
    """The alliance's first report, due on ``due``, submitted by the partner."""
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.execute(update(Report).where(Report.id == first.id).values(due_date=due))
        session.expunge(first)
    partner_submits(monkeypatch, first.id, COMPLETE, SUBMITTED_AT_REPORT_REVISION_DUE)
    monkeypatch.setattr(review_views, "now", lambda: REQUESTED_AT)
    return first


def ask(client: Any, report: Report, **extra: str) -> Any:
    return client.post(
        f"/staff/reports/{report.id}/review",
        data={"action": "request_revision", "comments": "Add the April meeting.", **extra},
    )


def test_a_due_date_far_ahead_is_kept(clean_databases, redis_client, monkeypatch):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    assert ask(staff_client(acting_as(LIAISON)), report).status_code == 303
    status, due, reminders, payloads = stored(report)
    assert (status, due) == ("revision_requested", date(2027, 1, 30))
    assert reminders == expected_reminders(date(2027, 1, 30))
    assert payloads == ["2027-01-30"]


def test_a_due_date_near_gives_14_days_after_the_request(
    clean_databases, redis_client, monkeypatch
):
    report = submitted_due(monkeypatch, date(2026, 12, 10))
    assert ask(staff_client(acting_as(LIAISON)), report).status_code == 303
    status, due, reminders, payloads = stored(report)
    assert (status, due) == ("revision_requested", date(2026, 12, 20))
    assert reminders == expected_reminders(date(2026, 12, 20))
    assert payloads == ["2026-12-20"]


def test_the_form_shows_the_due_date_a_revision_would_give(
    clean_databases, redis_client, monkeypatch
):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    html = staff_client(acting_as(LIAISON)).get(f"/staff/reports/{report.id}").text
    assert 'name="due_date"' in html
    assert "Leave it empty for January 30, 2027" in html


def test_the_liaison_may_choose_a_later_date_on_the_form(
    clean_databases, redis_client, monkeypatch
):
    report = submitted_due(monkeypatch, date(2026, 12, 10))
    answer = ask(staff_client(acting_as(LIAISON)), report, due_date="2027-01-15")
    assert answer.status_code == 303
    status, due, reminders, payloads = stored(report)
    assert (status, due) == ("revision_requested", date(2027, 1, 15))
    assert reminders == expected_reminders(date(2027, 1, 15))
    assert payloads == ["2027-01-15"]


def test_an_earlier_date_is_refused_inline_on_the_form(clean_databases, redis_client, monkeypatch):
    report = submitted_due(monkeypatch, date(2027, 1, 30))
    liaison = staff_client(acting_as(LIAISON))
    for chosen in ("2026-12-20", "2027-01-29"):
        refused = ask(liaison, report, due_date=chosen)
        assert refused.status_code == 422
        html = refused.text
        assert 'href="#due-date"' in html  # the error summary links to the field
        assert "Choose 2027-01-30 or later" in html
        assert f'value="{chosen}"' in html  # what was typed is kept
        assert 'aria-invalid="true"' in html
    refused = ask(liaison, report, due_date="next week")
    assert refused.status_code == 422
    assert "Enter a date like 2027-01-30" in refused.text
    nothing_stored(report)


ASKED = "Add the April meeting, please.\nAnd the attendance of the roofing day."


def partner_page(report: Report) -> Any:
    from services.reporting import create_app

    client = create_app({"TESTING": True}).test_client()
    return client.get(f"/reports/{tokens.make_token(report.id)}")


def review(report: Report, monkeypatch: Any, **form: str) -> None:
    monkeypatch.setattr(review_views, "now", lambda: REVIEWED_AT)
    answer = staff_client(acting_as(LIAISON)).post(f"/staff/reports/{report.id}/review", data=form)
    assert answer.status_code == 303


def test_before_the_review_the_page_says_submitted_not_accepted(submitted):
    page = partner_page(submitted)
    assert page.status_code == 200
    assert "<h1>Report submitted</h1>" in page.text
    assert "accepted" not in page.text.lower()


def test_an_accepted_report_says_accepted_and_when(submitted, monkeypatch):
    review(submitted, monkeypatch, action="accept")
    page = partner_page(submitted)
    assert page.status_code == 200
    assert "<h1>Report accepted</h1>" in page.text
    assert "<title>Report accepted" in page.text
    # REVIEWED_AT is 2026-05-04 02:00 UTC: May 3 in the agency's time zone (Detroit)
    assert "Your liaison accepted the quarterly report" in page.text
    assert "on May 3, 2026 (version 1)" in page.text
    assert "Your liaison reviews it" not in page.text


def test_after_a_revision_request_the_form_shows_what_was_asked_above_it(submitted, monkeypatch):
    review(submitted, monkeypatch, action="request_revision", comments=ASKED)
    page = partner_page(submitted)
    assert page.status_code == 200
    html = page.text
    asked = html.index("Your liaison asked for a revision")
    comments = html.index("Add the April meeting, please.\nAnd the attendance of the roofing day.")
    form = html.index('<form class="usa-form')
    assert asked < comments < form
    assert "On May 3, 2026, of version 1 of this report." in html
    assert "submit it again by May 17, 2026" in html  # the revision's due date


CORA = acting("cora@agency.example", "coordinator", name="Cora Coordinator")
SUBMITTED = {
    "meetings.0.date": "2026-02-10",
    "meetings.0.topic": "Planning the spring safety day",
    "meetings.0.attendees": "Dana Smith (Roofers Association)",
    "narratives.outreach_communication.results": "Reached 85 roofers in Lansing.",
}


@pytest.fixture
def revision_asked(clean_databases: Any, redis_client: Any, monkeypatch: Any) -> Report:
    """The alliance's first report, submitted, and a revision of it asked for by Cora."""
    signed = alliance_signed_event(signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14))
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        report = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(report)
    partner_submits(monkeypatch, report.id, SUBMITTED, datetime(2026, 4, 20, 15, tzinfo=UTC))
    asked = staff().post(
        f"/staff/reports/{report.id}/review",
        data={"action": "request_revision", "comments": "Say how many were trained."},
    )
    assert asked.status_code == 303
    return report


def staff() -> Any:
    return signed_in(create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), CORA)


def page(report: Report) -> str:
    answer = staff().get(f"/staff/reports/{report.id}")
    assert answer.status_code == 200
    return " ".join(answer.get_data(as_text=True).split())


def printout(report: Report) -> str:
    answer = staff().get(f"/staff/reports/{report.id}/report.pdf")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    pages = PdfReader(io.BytesIO(answer.data)).pages
    return " ".join(" ".join(p.extract_text() for p in pages).split())


def test_the_report_page_and_its_printout_name_the_reviewer(revision_asked):
    shown, printed = page(revision_asked), printout(revision_asked)

    assert "Revision requested by Cora Coordinator on" in shown
    assert "by Cora Coordinator on" in printed
    assert "cora@agency.example" not in shown
    assert "cora@agency.example" not in printed


def test_the_api_gives_the_reviewers_name_beside_the_address(revision_asked):
    found = staff().get(f"/api/v1/reports/{revision_asked.id}").get_json()

    [review] = found["reviews"]
    assert (review["reviewed_by"], review["reviewed_by_name"]) == (
        "cora@agency.example",
        "Cora Coordinator",
    )


def test_a_review_recorded_before_names_were_reads_by_its_address(revision_asked):
    with database.transaction() as session:
        session.execute(update(ReportReview).values(reviewed_by_name=None))

    assert "by cora@agency.example on" in page(revision_asked)
    assert "by cora@agency.example on" in printout(revision_asked)
    [review] = staff().get(f"/api/v1/reports/{revision_asked.id}").get_json()["reviews"]
    assert review["reviewed_by_name"] is None
