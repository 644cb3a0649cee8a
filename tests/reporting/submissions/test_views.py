"""The partner's report form: a meeting's topic and who attended, removing a row without
JavaScript, dates refused beside their field when outside the period or after today, the
warning and the confirmation before a report is sent while its period still runs, and the
narratives of the alliance's own goal categories only."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from services.reporting import create_app
from services.reporting.models import Report, ReportDraft, ReportVersion
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens
from services.reporting.submissions import views
from services.reporting.worker import database
from tests.factories import alliance_signed_event, run_reporting_task

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
def client() -> Any:
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()


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


def test_a_meeting_is_recorded_with_its_topic_and_who_attended(report, client, at):
    url = link(report.id)
    form = client.get(url).get_data(as_text=True)
    assert '<label class="usa-label" for="meetings-0-topic">Topic</label>' in form
    assert '<label class="usa-label" for="meetings-0-attendees">Who attended</label>' in form
    assert 'name="meetings.0.attendees"' in form

    only_a_date = {**COMPLETE, "meetings.0.topic": "", "meetings.0.attendees": ""}
    refused = client.post(url, data={**only_a_date, "action": "submit"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert summary(html) == [
        "Implementation team meetings, row 1, Topic: This field is required.",
        "Implementation team meetings, row 1, Who attended: This field is required.",
    ]
    assert 'id="meetings-0-topic-error"' in html
    assert 'id="meetings-0-attendees-error"' in html
    assert stored() == (0, 0)

    assert client.post(url, data={**COMPLETE, "action": "submit"}).status_code == 303
    assert the_version(report.id).content["meetings"] == [
        {
            "date": "2026-02-10",
            "topic": "Planning the spring safety day",
            "attendees": "Dana Smith (Roofers Association), Lee Park (agency liaison)",
        }
    ]
    shown = " ".join(client.get(url).get_data(as_text=True).split())
    assert (
        "Meeting date: 2026-02-10; Topic: Planning the spring safety day; Who attended: "
        "Dana Smith (Roofers Association), Lee Park (agency liaison)"
    ) in shown


def test_a_report_stored_before_topic_and_attendees_still_shows(report, client):
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
    page = client.get(link(report.id))
    assert page.status_code == 200
    shown = " ".join(page.get_data(as_text=True).split())
    assert "Meeting date: 2026-02-10; Topic: not recorded; Who attended: not recorded" in shown
    assert "Posters." in shown
    pdf = client.get(f"{link(report.id)}/report.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"


# -- removing a row, without JavaScript ----------------------------------------------------------


def test_a_row_is_removed_and_the_rest_shown_as_typed_with_nothing_stored(report, client):
    url = link(report.id)
    assert "Remove meeting 1" not in client.get(url).get_data(as_text=True)  # a lone empty row

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
    html = client.post(url, data={**typed, "action": "add:meetings"}).get_data(as_text=True)
    for number in (1, 2, 3, 4):
        assert f'value="remove:meetings:{number - 1}"' in html
        assert f">Remove meeting {number}</button>" in html
    assert ">Remove outreach event 1</button>" in html
    assert ">Remove product 1</button>" in html

    removed = client.post(url, data={**typed, "action": "remove:meetings:1"})
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
    html = client.post(url, data={**gaps, "action": "remove:meetings:2"}).get_data(as_text=True)
    assert re.search(r'id="meetings-1-date"[^>]*value="2026-02-24"', html)
    assert re.search(r'id="meetings-0-date"[^>]*value=""', html)
    assert "2026-03-10" not in html

    # The last row removed: one empty row to fill in.
    html = client.post(
        url, data={"meetings.0.date": "2026-02-10", "action": "remove:meetings:0"}
    ).get_data(as_text=True)
    assert 'name="meetings.0.date"' in html
    assert "2026-02-10" not in html

    for bad in ("remove:meetings:x", "remove:nothing:0", "remove:meetings:100", "remove:meetings"):
        assert client.post(url, data={**typed, "action": bad}).status_code == 422
    assert stored() == (0, 0)


# -- dates: inside the period, never after today ------------------------------------------------


def test_dates_outside_the_period_or_after_today_are_refused_beside_their_field(report, client, at):
    url = link(report.id)
    outside = {
        **COMPLETE,
        "meetings.0.date": "2026-04-05",
        "outreach.0.date": "2026-01-02",
        "action": "submit",
    }
    refused = client.post(url, data=outside)
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
    html = client.post(url, data=ahead).get_data(as_text=True)
    assert summary(html) == [
        "Outreach events and training for outside audiences, row 1, Date: Enter a date on or "
        "before today, February 20, 2026: a report tells what already happened."
    ]
    assert stored() == (0, 0)
    # A draft may hold any date: the partner finishes it later.
    assert client.post(url, data={**ahead, "action": "save_draft"}).status_code == 303


# -- sending before the period ends --------------------------------------------------------------

WARNING = (
    "This period ends on March 31, 2026: a report sent before then covers only part of the quarter."
)


def test_a_report_sent_before_its_period_ends_is_warned_and_needs_a_ticked_box(report, client, at):
    url = link(report.id)
    at(FIRST_DAY)
    form = client.get(url).get_data(as_text=True)
    assert WARNING in form
    assert 'name="confirm_early"' in form
    assert "before its period ends on March 31, 2026" in form

    early = {**COMPLETE, "meetings.0.date": "2026-01-15", "outreach.0.date": "2026-01-15"}
    refused = client.post(url, data={**early, "action": "submit"})
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
    added = client.post(url, data={**early, "confirm_early": "yes", "action": "add:products"})
    assert re.search(r'id="confirm-early"[^>]*checked', added.get_data(as_text=True))

    sent = client.post(url, data={**early, "confirm_early": "yes", "action": "submit"})
    assert sent.status_code == 303
    version = the_version(report.id)
    assert (version.sent_early, version.on_time) == (True, True)
    confirmation = " ".join(client.get(url).get_data(as_text=True).split())
    assert "on time, sent before the period ended on March 31, 2026" in confirmation


def test_after_the_period_there_is_no_warning_and_no_box(report, client, at):
    url = link(report.id)
    at(datetime(2026, 4, 1, 4, 0, tzinfo=UTC))  # April 1, midnight in Detroit
    form = client.get(url).get_data(as_text=True)
    assert WARNING not in form
    assert "confirm_early" not in form
    assert client.post(url, data={**COMPLETE, "action": "submit"}).status_code == 303
    assert the_version(report.id).sent_early is False
    assert "sent before the period ended" not in client.get(url).get_data(as_text=True)


# -- the narratives of the alliance's goal categories ---------------------------------------------


def test_only_the_alliances_goal_categories_are_narrated(clean_databases, redis_client, client):
    report = first_report(
        goals=[
            {"category": "outreach_communication", "description": "Toolbox talks"},
            {"category": "training_education", "description": "Ladder course"},
        ]
    )
    url = link(report.id)
    form = client.get(url).get_data(as_text=True)
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
    assert client.post(url, data=posted).status_code == 303
    narratives = the_version(report.id).content["narratives"]
    assert sorted(narratives) == ["outreach_communication", "training_education"]
    shown = client.get(url).get_data(as_text=True)
    assert "<h4>Training and education</h4>" in shown
    assert "<h4>Outreach and communication</h4>" in shown
    assert "Raising awareness" not in shown
