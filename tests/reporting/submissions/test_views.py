"""The partner's report form: a meeting's topic and who attended, removing a row without
JavaScript, dates refused beside their field when outside the period or after today, the
warning and the confirmation before a report is sent while its period still runs, and the
narratives of the alliance's own goal categories only.

The partner's report form behind its signed link: drafts, added rows, inline refusals,
immutable versions with their ``report.submitted`` event, revision and resubmission, refused
links, and the deadline event's ``report_url`` opening the form."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from services.reporting.models import OutboxEvent, Report, ReportDraft, ReportVersion
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens
from services.reporting.submissions import views
from services.reporting.worker import database, outbox
from shared.config import load_settings
from tests.reporting.factories import run_reporting_task
from tests.review.factories import alliance_signed_event

pytestmark = pytest.mark.integration

SIGNED = date(2026, 1, 15)  # the first report: the quarter January 15 to March 31, 2026
ENDS = date(2028, 1, 14)
AFTER_THE_PERIOD = datetime(2026, 4, 20, 15, tzinfo=UTC)
FIRST_DAY = datetime(2026, 1, 15, 15, tzinfo=UTC)  # 10:00 AM in Detroit

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


def first_report(goals: list[dict[str, str]] | None = None) -> Report:
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    signed.payload["goals"] = goals or []
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
    assert (first.kind, first.period_start, first.period_end) == (
        "quarterly",
        SIGNED,
        date(2026, 3, 31),
    )
    return first


@pytest.fixture
def report(clean_databases: Any, redis_client: Any) -> Report:
    return first_report()


@pytest.fixture
def at(monkeypatch: Any) -> Any:
    """Set the form's clock: ``at(moment)``."""

    def setting(moment: datetime) -> None:
        monkeypatch.setattr(views, "now", lambda: moment)

    setting(AFTER_THE_PERIOD)
    return setting


def link(report_id: uuid.UUID) -> str:
    return f"/reports/{tokens.make_token(report_id)}"


def stored() -> tuple[int, int]:
    with database.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(ReportDraft)) or 0,
            session.scalar(select(func.count()).select_from(ReportVersion)) or 0,
        )


def the_version(report_id: uuid.UUID) -> ReportVersion:
    with database.transaction() as session:
        (version,) = session.scalars(
            select(ReportVersion).where(ReportVersion.report_id == report_id)
        ).all()
        session.expunge(version)
        return version


def summary(html: str) -> list[str]:
    """The error summary's lines, as a person reads them."""
    found = re.search(r'id="error-summary".*?</ul>', html, re.S)
    assert found, "no error summary"
    return [
        " ".join(re.sub(r"<[^>]+>", "", item).split()).replace("&#39;", "'")
        for item in re.findall(r"<li>(.*?)</li>", found.group(0), re.S)
    ]


# -- a meeting: its date, topic and who attended -------------------------------------------------


def test_a_meeting_is_recorded_with_its_topic_and_who_attended(report, reporting_client, at):
    url = link(report.id)
    form = reporting_client.get(url).get_data(as_text=True)
    assert '<label class="usa-label" for="meetings-0-topic">Topic</label>' in form
    assert '<label class="usa-label" for="meetings-0-attendees">Who attended</label>' in form
    assert 'name="meetings.0.attendees"' in form

    only_a_date = {**COMPLETE, "meetings.0.topic": "", "meetings.0.attendees": ""}
    refused = reporting_client.post(url, data={**only_a_date, "action": "submit"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert summary(html) == [
        "Implementation team meetings, row 1, Topic: This field is required.",
        "Implementation team meetings, row 1, Who attended: This field is required.",
    ]
    assert 'id="meetings-0-topic-error"' in html
    assert 'id="meetings-0-attendees-error"' in html
    assert stored() == (0, 0)

    assert reporting_client.post(url, data={**COMPLETE, "action": "submit"}).status_code == 303
    assert the_version(report.id).content["meetings"] == [
        {
            "date": "2026-02-10",
            "topic": "Planning the spring safety day",
            "attendees": "Dana Smith (Roofers Association), Lee Park (agency liaison)",
        }
    ]
    shown = " ".join(reporting_client.get(url).get_data(as_text=True).split())
    assert (
        "Meeting date: February 10, 2026; Topic: Planning the spring safety day; Who attended: "
        "Dana Smith (Roofers Association), Lee Park (agency liaison)"
    ) in shown


def test_a_report_stored_before_topic_and_attendees_still_shows(report, reporting_client):
    with database.transaction() as session:
        session.add(
            ReportVersion(
                report_id=report.id,
                number=1,
                content={
                    "meetings": [{"date": "2026-02-10"}],
                    "narratives": {"awareness": {"results": "Posters.", "obstacles": ""}},
                },
                submitted_at=AFTER_THE_PERIOD,
                on_time=True,
            )
        )
        reports.mark_submitted(session, report_id=report.id, at=AFTER_THE_PERIOD)
    page = reporting_client.get(link(report.id))
    assert page.status_code == 200
    shown = " ".join(page.get_data(as_text=True).split())
    assert (
        "Meeting date: February 10, 2026; Topic: not recorded; Who attended: not recorded" in shown
    )
    assert "Posters." in shown
    pdf = reporting_client.get(f"{link(report.id)}/report.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"


# -- removing a row, without JavaScript ----------------------------------------------------------


def test_a_row_is_removed_and_the_rest_shown_as_typed_with_nothing_stored(report, reporting_client):
    url = link(report.id)
    assert "Remove meeting 1" not in reporting_client.get(url).get_data(
        as_text=True
    )  # a lone empty row

    typed = {
        **COMPLETE,
        "meetings.1.date": "2026-02-24",
        "meetings.1.topic": "Heat campaign",
        "meetings.1.attendees": "Dana Smith",
        "meetings.2.date": "2026-03-10",
        "meetings.2.topic": "Toolbox talks",
        "meetings.2.attendees": "Lee Park",
        "products.0.title": "Ladder talk",
    }
    html = reporting_client.post(url, data={**typed, "action": "add:meetings"}).get_data(
        as_text=True
    )
    for number in (1, 2, 3, 4):
        assert f'value="remove:meetings:{number - 1}"' in html
        assert f">Remove meeting {number}</button>" in html
    assert ">Remove outreach event 1</button>" in html
    assert ">Remove product 1</button>" in html

    removed = reporting_client.post(url, data={**typed, "action": "remove:meetings:1"})
    assert removed.status_code == 200
    html = removed.get_data(as_text=True)
    assert "Removed meeting 2." in html
    assert 'value="Heat campaign"' not in html
    assert re.search(r'id="meetings-1-date"[^>]*value="2026-03-10"', html)  # moved up
    assert re.search(r'id="meetings-1-date"[^>]*autofocus', html)  # where the removed one was
    assert 'value="Toolbox talks"' in html
    assert 'name="meetings.2.date"' not in html
    assert 'value="Spring roofing safety day"' in html  # the other sections as typed
    assert 'value="Ladder talk"' in html
    assert 'value="Reached 85 people."' not in html  # a textarea: its text is its content
    assert ">Reached 85 people.</textarea>" in html
    assert stored() == (0, 0)

    # A row left empty keeps its place, so each button removes the row it is in.
    gaps = {"meetings.0.date": "", "meetings.1.date": "2026-02-24", "meetings.2.date": "2026-03-10"}
    html = reporting_client.post(url, data={**gaps, "action": "remove:meetings:2"}).get_data(
        as_text=True
    )
    assert re.search(r'id="meetings-1-date"[^>]*value="2026-02-24"', html)
    assert re.search(r'id="meetings-0-date"[^>]*value=""', html)
    assert "2026-03-10" not in html

    # The last row removed: one empty row to fill in.
    html = reporting_client.post(
        url, data={"meetings.0.date": "2026-02-10", "action": "remove:meetings:0"}
    ).get_data(as_text=True)
    assert 'name="meetings.0.date"' in html
    assert "2026-02-10" not in html

    for bad in ("remove:meetings:x", "remove:nothing:0", "remove:meetings:100", "remove:meetings"):
        assert reporting_client.post(url, data={**typed, "action": bad}).status_code == 422
    assert stored() == (0, 0)


# -- dates: inside the period, never after today ------------------------------------------------


def test_dates_outside_the_period_or_after_today_are_refused_beside_their_field(
    report, reporting_client, at
):
    url = link(report.id)
    outside = {
        **COMPLETE,
        "meetings.0.date": "2026-04-05",
        "outreach.0.date": "2026-01-02",
        "action": "submit",
    }
    refused = reporting_client.post(url, data=outside)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    period = "Enter a date within this report's period, January 15, 2026 to March 31, 2026."
    assert summary(html) == [
        f"Implementation team meetings, row 1, Meeting date: {period}",
        f"Outreach events and training for outside audiences, row 1, Date: {period}",
    ]
    assert 'id="meetings-0-date-error"' in html
    assert 'id="outreach-0-date-error"' in html
    assert 'value="2026-04-05"' in html  # what was typed stays
    assert stored() == (0, 0)

    at(datetime(2026, 2, 20, 15, tzinfo=UTC))  # in the period; the partner sends it early
    ahead = {**COMPLETE, "confirm_early": "yes", "action": "submit"}  # outreach on March 5
    html = reporting_client.post(url, data=ahead).get_data(as_text=True)
    assert summary(html) == [
        "Outreach events and training for outside audiences, row 1, Date: Enter a date on or "
        "before today, February 20, 2026: a report tells what already happened."
    ]
    assert stored() == (0, 0)
    # A draft may hold any date: the partner finishes it later.
    assert reporting_client.post(url, data={**ahead, "action": "save_draft"}).status_code == 303


# -- sending before the period ends --------------------------------------------------------------

WARNING = (
    "This period ends on March 31, 2026: a report sent before then covers only part of the quarter."
)


def test_a_report_sent_before_its_period_ends_is_warned_and_needs_a_ticked_box(
    report, reporting_client, at
):
    url = link(report.id)
    at(FIRST_DAY)
    form = reporting_client.get(url).get_data(as_text=True)
    assert WARNING in form
    assert 'name="confirm_early"' in form
    assert "before its period ends on March 31, 2026" in form

    early = {**COMPLETE, "meetings.0.date": "2026-01-15", "outreach.0.date": "2026-01-15"}
    refused = reporting_client.post(url, data={**early, "action": "submit"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert summary(html) == [
        "Sending before the period ends: Tick the box to send the report before its period "
        "ends on March 31, 2026, or save a draft and submit it after then."
    ]
    assert 'id="confirm-early-error"' in html
    assert 'href="#confirm-early"' in html
    assert stored() == (0, 0)

    # The ticked box stays ticked while rows are added.
    added = reporting_client.post(
        url, data={**early, "confirm_early": "yes", "action": "add:products"}
    )
    assert re.search(r'id="confirm-early"[^>]*checked', added.get_data(as_text=True))

    sent = reporting_client.post(url, data={**early, "confirm_early": "yes", "action": "submit"})
    assert sent.status_code == 303
    version = the_version(report.id)
    assert (version.sent_early, version.on_time) == (True, True)
    confirmation = " ".join(reporting_client.get(url).get_data(as_text=True).split())
    assert (
        "version 1, on time. It was sent before the period ended on March 31, 2026." in confirmation
    )


def test_after_the_period_there_is_no_warning_and_no_box(report, reporting_client, at):
    url = link(report.id)
    at(datetime(2026, 4, 1, 4, 0, tzinfo=UTC))  # April 1, midnight in Detroit
    form = reporting_client.get(url).get_data(as_text=True)
    assert WARNING not in form
    assert "confirm_early" not in form
    assert reporting_client.post(url, data={**COMPLETE, "action": "submit"}).status_code == 303
    assert the_version(report.id).sent_early is False
    assert "sent before the period ended" not in reporting_client.get(url).get_data(as_text=True)


# -- the narratives of the alliance's goal categories ---------------------------------------------


def test_only_the_alliances_goal_categories_are_narrated(
    clean_databases, redis_client, reporting_client
):
    report = first_report(
        goals=[
            {"category": "outreach_communication", "description": "Toolbox talks"},
            {"category": "training_education", "description": "Ladder course"},
        ]
    )
    url = link(report.id)
    form = reporting_client.get(url).get_data(as_text=True)
    assert 'name="narratives.outreach_communication.results"' in form
    assert 'name="narratives.training_education.results"' in form
    assert "narratives.awareness" not in form
    assert "Raising awareness" not in form

    posted = {
        **COMPLETE,
        "narratives.training_education.results": "Trained 12 crews.",
        "narratives.awareness.results": "Not one of our goals.",
        "action": "submit",
    }
    assert reporting_client.post(url, data=posted).status_code == 303
    narratives = the_version(report.id).content["narratives"]
    assert sorted(narratives) == ["outreach_communication", "training_education"]
    shown = reporting_client.get(url).get_data(as_text=True)
    assert "<h4>Training and education</h4>" in shown
    assert "<h4>Outreach and communication</h4>" in shown
    assert "Raising awareness" not in shown


DETROIT = ZoneInfo("America/Detroit")
SIGNED_REPORT_FORM = date(2026, 1, 15)


@pytest.fixture
def report_report_form(clean_databases: Any, redis_client: Any) -> Report:
    """The first report (by due date) of a freshly signed alliance, committed."""
    signed = alliance_signed_event(signing_date=SIGNED_REPORT_FORM, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
        return first


COMPLETE_REPORT_FORM = {
    "meetings.0.date": "2026-02-10",
    "meetings.0.topic": "Planning the spring safety day",
    "meetings.0.attendees": "Dana Smith (Roofers Association), Lee Park (agency liaison)",
    "dissemination.0.type": "Fact sheet",
    "dissemination.0.date": "2026-02-20",
    "dissemination.0.description": "Fall protection fact sheet mailed to members",
    "dissemination.0.emphasis_area": "falls",
    "dissemination.0.number_reached": "1200",
    "outreach.0.date": "2026-03-05",
    "outreach.0.event": "Spring roofing safety day",
    "outreach.0.city": "Lansing",
    "outreach.0.state": "MI",
    "outreach.0.emphasis_area": "heat",
    "outreach.0.number_reached": "85",
    "staff_training.0.audience": "Compliance officers",
    "staff_training.0.number_reached": "12",
    "products.0.title": "Ladder safety toolbox talk",
    "products.0.description": "A five-minute talk for crews",
    "narratives.outreach_communication.results": "Reached 1,285 people.",
    "narratives.outreach_communication.obstacles": "Bad weather in March.",
}


def stored_counts() -> tuple[int, int, int]:
    with database.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(ReportDraft)) or 0,
            session.scalar(select(func.count()).select_from(ReportVersion)) or 0,
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.type == "report.submitted")
            )
            or 0,
        )


def test_open_save_a_draft_come_back_add_rows_and_submit(
    report_report_form, reporting_client, monkeypatch
):
    url = link(report_report_form.id)
    page = reporting_client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Implementation team meetings" in html
    assert 'name="meetings.0.date"' in html
    assert "Outreach and communication" in html  # the agency's goal categories
    assert '<option value="falls">Falls</option>' in html  # its emphasis areas

    draft = {
        "action": "save_draft",
        "meetings.0.date": "2026-02-10",
        "outreach.0.event": "Spring roofing safety day",
    }
    saved = reporting_client.post(url, data=draft)
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("?saved=1")
    with database.transaction() as session:
        assert (
            session.get(Report, report_report_form.id).status == "scheduled"
        )  # a draft changes nothing
        stored = session.get(ReportDraft, report_report_form.id).content
    assert stored["meetings"] == [{"date": "2026-02-10", "topic": "", "attendees": ""}]
    assert stored["outreach"][0]["event"] == "Spring roofing safety day"
    again = reporting_client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Draft saved" in again
    assert 'value="Spring roofing safety day"' in again
    assert 'value="2026-02-10"' in again

    # Add rows without JavaScript: the form again with one more empty row, the typed kept.
    added = reporting_client.post(url, data={**draft, "action": "add:meetings"})
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    assert 'name="meetings.1.date"' in html
    assert "autofocus" in html
    assert 'value="2026-02-10"' in html
    second = {
        "meetings.1.date": "2026-03-25",
        "meetings.1.topic": "Heat illness campaign",
        "meetings.1.attendees": "Dana Smith, Lee Park",
    }
    two = reporting_client.post(
        url, data={**COMPLETE_REPORT_FORM, **second, "action": "add:outreach"}
    )
    assert 'name="outreach.1.event"' in two.get_data(as_text=True)

    moment = datetime(2026, 4, 20, 15, tzinfo=UTC)
    monkeypatch.setattr(views, "now", lambda: moment)
    submitted = reporting_client.post(
        url, data={**COMPLETE_REPORT_FORM, **second, "action": "submit"}
    )
    assert submitted.status_code == 303
    with database.transaction() as session:
        row = session.get(Report, report_report_form.id)
        assert (row.status, row.submitted_at) == ("submitted", moment)
        (version,) = session.scalars(select(ReportVersion)).all()
        assert (version.number, version.submitted_at, version.on_time) == (1, moment, True)
        assert version.content["meetings"] == [
            {
                "date": "2026-02-10",
                "topic": "Planning the spring safety day",
                "attendees": "Dana Smith (Roofers Association), Lee Park (agency liaison)",
            },
            {
                "date": "2026-03-25",
                "topic": "Heat illness campaign",
                "attendees": "Dana Smith, Lee Park",
            },
        ]
        assert version.sent_early is False
        assert version.content["dissemination"][0]["number_reached"] == 1200
        (event,) = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "report.submitted")
        ).all()
        payload = event.message["payload"]
    assert payload["report_id"] == str(report_report_form.id)
    assert payload["alliance_id"] == str(report_report_form.alliance_id)
    assert (payload["version"], payload["on_time"], payload["kind"]) == (
        1,
        True,
        report_report_form.kind,
    )
    assert payload["due_date"] == report_report_form.due_date.isoformat()
    assert payload["contact"]["email"] == "dana@example.org"
    assert {"reference", "partner_name", "liaison", "term", "period_start", "period_end"} <= set(
        payload
    )
    assert payload["submitted_at"].startswith("2026-04-20T15:00:00")

    confirmation = reporting_client.get(url).get_data(as_text=True)
    assert "Report submitted" in confirmation
    assert "version 1, on time" in confirmation
    assert "<form" not in confirmation.split("</header>")[-1]  # read-only
    # A second submission through the same link is refused and stores nothing.
    repeat = reporting_client.post(url, data={**COMPLETE_REPORT_FORM, "action": "submit"})
    assert repeat.status_code == 409
    assert stored_counts() == (1, 1, 1)


def test_a_nul_in_a_field_is_shown_inline_and_nothing_is_stored(
    report_report_form, reporting_client
):
    url = link(report_report_form.id)
    for action in ("save_draft", "submit"):
        data = {**COMPLETE_REPORT_FORM, "outreach.0.city": "Lan\x00sing", "action": action}
        refused = reporting_client.post(url, data=data)
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert 'id="outreach-0-city-error"' in html
        assert 'aria-invalid="true"' in html
        assert "There is a problem" in html
        assert 'href="#outreach-0-city"' in html
    assert stored_counts() == (0, 0, 0)
    with database.transaction() as session:
        assert session.get(Report, report_report_form.id).status == "scheduled"


def test_an_incomplete_or_malformed_submission_is_refused_field_by_field(
    report_report_form, reporting_client
):
    url = link(report_report_form.id)
    refused = reporting_client.post(
        url,
        data={
            "action": "submit",
            "outreach.0.event": "Safety day",
            "outreach.0.number_reached": "many",
            "dissemination.0.date": "March 5",
        },
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    for field in ("outreach-0-number-reached", "dissemination-0-date"):
        assert f'id="{field}-error"' in html
    assert stored_counts() == (0, 0, 0)
    incomplete = reporting_client.post(
        url, data={"action": "submit", "outreach.0.event": "Safety day"}
    )
    html = incomplete.get_data(as_text=True)
    assert incomplete.status_code == 422
    for field in ("outreach-0-city", "meetings-0-date", "narratives-awareness-results"):
        assert f'id="{field}-error"' in html
    assert stored_counts() == (0, 0, 0)


def test_a_revision_request_opens_the_report_again_and_keeps_every_version(
    report_report_form, reporting_client, monkeypatch
):
    url = link(report_report_form.id)
    late = datetime.combine(
        report_report_form.due_date + timedelta(days=2), datetime.min.time(), DETROIT
    )
    monkeypatch.setattr(views, "now", lambda: late.astimezone(UTC))
    assert (
        reporting_client.post(url, data={**COMPLETE_REPORT_FORM, "action": "submit"}).status_code
        == 303
    )
    with database.transaction() as session:
        session.get(Report, report_report_form.id).status = "revision_requested"
    page = reporting_client.get(url).get_data(as_text=True)
    assert "asked for a revision" in page
    assert 'value="Lansing"' in page
    changed = {**COMPLETE_REPORT_FORM, "outreach.0.city": "Detroit", "action": "submit"}
    assert reporting_client.post(url, data=changed).status_code == 303
    with database.transaction() as session:
        versions = session.scalars(select(ReportVersion).order_by(ReportVersion.number)).all()
        assert [(v.number, v.on_time) for v in versions] == [(1, False), (2, False)]
        assert [v.content["outreach"][0]["city"] for v in versions] == ["Lansing", "Detroit"]
        assert session.get(Report, report_report_form.id).status == "submitted"
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "report.submitted")
            .order_by(OutboxEvent.id)
        ).all()
        assert [e.message["payload"]["version"] for e in events] == [1, 2]


def test_the_sweep_sends_no_reminder_after_submission(report_report_form, reporting_client):
    assert (
        reporting_client.post(
            link(report_report_form.id), data={**COMPLETE_REPORT_FORM, "action": "submit"}
        ).status_code
        == 303
    )
    with database.transaction() as session:
        sent = reports.sweep(session, now=datetime(2030, 1, 1, tzinfo=UTC), outbox=outbox)
        mine = session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("report.%"))).all()
    assert all(
        e.type == "report.submitted"
        or e.message["payload"]["report_id"] != str(report_report_form.id)
        for e in mine
    )
    assert sum(sent.values()) >= 1  # the alliance's other reports still get theirs


def test_expired_and_altered_links_are_refused(report_report_form, reporting_client):
    token = tokens.make_token(report_report_form.id)
    altered = reporting_client.get(f"/reports/{token[:-3]}xyz")
    assert altered.status_code == 404
    assert "not valid" in altered.get_data(as_text=True)
    with pytest.raises(tokens.LinkExpired):
        tokens.read_token(token, max_age=timedelta(seconds=-1))
    expired = URLSafeTimedSerializer(load_settings().secret_key, salt=tokens.SALT)
    old = expired.dumps(str(report_report_form.id))
    import time

    real = time.time
    try:
        time.time = lambda: real() + load_settings().reporting.link_lifetime.total_seconds() + 60
        answer = reporting_client.get(f"/reports/{old}")
    finally:
        time.time = real
    assert answer.status_code == 403
    assert "expired" in answer.get_data(as_text=True)
    refused = reporting_client.post(
        f"/reports/{token[:-3]}xyz", data={**COMPLETE_REPORT_FORM, "action": "submit"}
    )
    assert refused.status_code == 404
    assert stored_counts() == (0, 0, 0)
    assert reporting_client.get(f"/reports/{tokens.make_token(uuid.uuid4())}").status_code == 404


def test_the_deadline_events_report_url_opens_the_form(report_report_form, reporting_client):
    with database.transaction() as session:
        reports.sweep(
            session,
            now=datetime.combine(report_report_form.due_date, datetime.min.time(), DETROIT)
            + timedelta(hours=12),
            outbox=outbox,
        )
        events = [
            e.message["payload"]
            for e in session.scalars(select(OutboxEvent).where(OutboxEvent.type == "report.due"))
        ]
    payload = next(p for p in events if p["report_id"] == str(report_report_form.id))
    base = load_settings().public_base_url.rstrip("/")
    match = re.fullmatch(re.escape(base) + r"/reporting(/reports/[^/]+)", payload["report_url"])
    assert match, payload["report_url"]
    page = reporting_client.get(match.group(1))
    assert page.status_code == 200
    assert "Implementation team meetings" in page.get_data(as_text=True)
