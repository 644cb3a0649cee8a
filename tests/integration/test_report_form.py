"""The partner's report form behind its signed link: drafts, added rows, inline refusals,
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

from services.reporting import create_app
from services.reporting.models import OutboxEvent, Report, ReportDraft, ReportVersion
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens
from services.reporting.submissions import views
from services.reporting.worker import database, outbox
from shared.config import load_settings
from tests.factories import alliance_signed_event, run_reporting_task

pytestmark = pytest.mark.integration

DETROIT = ZoneInfo("America/Detroit")
SIGNED = date(2026, 1, 15)
ENDS = date(2028, 1, 14)


@pytest.fixture
def report(clean_databases: Any, redis_client: Any) -> Report:
    """The first report (by due date) of a freshly signed alliance, committed."""
    signed = alliance_signed_event(signing_date=SIGNED, ends_on=ENDS)
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
        return first


@pytest.fixture
def client() -> Any:
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()


def link(report_id: uuid.UUID) -> str:
    return f"/reports/{tokens.make_token(report_id)}"


COMPLETE = {
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


def test_open_save_a_draft_come_back_add_rows_and_submit(report, client, monkeypatch):
    url = link(report.id)
    page = client.get(url)
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
    saved = client.post(url, data=draft)
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("?saved=1")
    with database.transaction() as session:
        assert session.get(Report, report.id).status == "scheduled"  # a draft changes nothing
        stored = session.get(ReportDraft, report.id).content
    assert stored["meetings"] == [{"date": "2026-02-10", "topic": "", "attendees": ""}]
    assert stored["outreach"][0]["event"] == "Spring roofing safety day"
    again = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Draft saved" in again
    assert 'value="Spring roofing safety day"' in again
    assert 'value="2026-02-10"' in again

    # Add rows without JavaScript: the form again with one more empty row, the typed kept.
    added = client.post(url, data={**draft, "action": "add:meetings"})
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
    two = client.post(url, data={**COMPLETE, **second, "action": "add:outreach"})
    assert 'name="outreach.1.event"' in two.get_data(as_text=True)

    moment = datetime(2026, 4, 20, 15, tzinfo=UTC)
    monkeypatch.setattr(views, "now", lambda: moment)
    submitted = client.post(url, data={**COMPLETE, **second, "action": "submit"})
    assert submitted.status_code == 303
    with database.transaction() as session:
        row = session.get(Report, report.id)
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
    assert payload["report_id"] == str(report.id)
    assert payload["alliance_id"] == str(report.alliance_id)
    assert (payload["version"], payload["on_time"], payload["kind"]) == (1, True, report.kind)
    assert payload["due_date"] == report.due_date.isoformat()
    assert payload["contact"]["email"] == "dana@example.org"
    assert {"reference", "partner_name", "liaison", "term", "period_start", "period_end"} <= set(
        payload
    )
    assert payload["submitted_at"].startswith("2026-04-20T15:00:00")

    confirmation = client.get(url).get_data(as_text=True)
    assert "Report submitted" in confirmation
    assert "version 1, on time" in confirmation
    assert "<form" not in confirmation.split("</header>")[-1]  # read-only
    # A second submission through the same link is refused and stores nothing.
    repeat = client.post(url, data={**COMPLETE, "action": "submit"})
    assert repeat.status_code == 409
    assert stored_counts() == (1, 1, 1)


def test_a_nul_in_a_field_is_shown_inline_and_nothing_is_stored(report, client):
    url = link(report.id)
    for action in ("save_draft", "submit"):
        data = {**COMPLETE, "outreach.0.city": "Lan\x00sing", "action": action}
        refused = client.post(url, data=data)
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert 'id="outreach-0-city-error"' in html
        assert 'aria-invalid="true"' in html
        assert "There is a problem" in html
        assert 'href="#outreach-0-city"' in html
    assert stored_counts() == (0, 0, 0)
    with database.transaction() as session:
        assert session.get(Report, report.id).status == "scheduled"


def test_an_incomplete_or_malformed_submission_is_refused_field_by_field(report, client):
    url = link(report.id)
    refused = client.post(
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
    incomplete = client.post(url, data={"action": "submit", "outreach.0.event": "Safety day"})
    html = incomplete.get_data(as_text=True)
    assert incomplete.status_code == 422
    for field in ("outreach-0-city", "meetings-0-date", "narratives-awareness-results"):
        assert f'id="{field}-error"' in html
    assert stored_counts() == (0, 0, 0)


def test_a_revision_request_opens_the_report_again_and_keeps_every_version(
    report, client, monkeypatch
):
    url = link(report.id)
    late = datetime.combine(report.due_date + timedelta(days=2), datetime.min.time(), DETROIT)
    monkeypatch.setattr(views, "now", lambda: late.astimezone(UTC))
    assert client.post(url, data={**COMPLETE, "action": "submit"}).status_code == 303
    with database.transaction() as session:
        session.get(Report, report.id).status = "revision_requested"
    page = client.get(url).get_data(as_text=True)
    assert "asked for a revision" in page
    assert 'value="Lansing"' in page
    changed = {**COMPLETE, "outreach.0.city": "Detroit", "action": "submit"}
    assert client.post(url, data=changed).status_code == 303
    with database.transaction() as session:
        versions = session.scalars(select(ReportVersion).order_by(ReportVersion.number)).all()
        assert [(v.number, v.on_time) for v in versions] == [(1, False), (2, False)]
        assert [v.content["outreach"][0]["city"] for v in versions] == ["Lansing", "Detroit"]
        assert session.get(Report, report.id).status == "submitted"
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "report.submitted")
            .order_by(OutboxEvent.id)
        ).all()
        assert [e.message["payload"]["version"] for e in events] == [1, 2]


def test_the_sweep_sends_no_reminder_after_submission(report, client):
    assert client.post(link(report.id), data={**COMPLETE, "action": "submit"}).status_code == 303
    with database.transaction() as session:
        sent = reports.sweep(session, now=datetime(2030, 1, 1, tzinfo=UTC), outbox=outbox)
        mine = session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("report.%"))).all()
    assert all(
        e.type == "report.submitted" or e.message["payload"]["report_id"] != str(report.id)
        for e in mine
    )
    assert sum(sent.values()) >= 1  # the alliance's other reports still get theirs


def test_expired_and_altered_links_are_refused(report, client):
    token = tokens.make_token(report.id)
    altered = client.get(f"/reports/{token[:-3]}xyz")
    assert altered.status_code == 404
    assert "not valid" in altered.get_data(as_text=True)
    with pytest.raises(tokens.LinkExpired):
        tokens.read_token(token, max_age=timedelta(seconds=-1))
    expired = URLSafeTimedSerializer(load_settings().secret_key, salt=tokens.SALT)
    old = expired.dumps(str(report.id))
    import time

    real = time.time
    try:
        time.time = lambda: real() + load_settings().reporting.link_lifetime.total_seconds() + 60
        answer = client.get(f"/reports/{old}")
    finally:
        time.time = real
    assert answer.status_code == 403
    assert "expired" in answer.get_data(as_text=True)
    refused = client.post(f"/reports/{token[:-3]}xyz", data={**COMPLETE, "action": "submit"})
    assert refused.status_code == 404
    assert stored_counts() == (0, 0, 0)
    assert client.get(f"/reports/{tokens.make_token(uuid.uuid4())}").status_code == 404


def test_the_deadline_events_report_url_opens_the_form(report, client):
    with database.transaction() as session:
        reports.sweep(
            session,
            now=datetime.combine(report.due_date, datetime.min.time(), DETROIT)
            + timedelta(hours=12),
            outbox=outbox,
        )
        events = [
            e.message["payload"]
            for e in session.scalars(select(OutboxEvent).where(OutboxEvent.type == "report.due"))
        ]
    payload = next(p for p in events if p["report_id"] == str(report.id))
    base = load_settings().public_base_url.rstrip("/")
    match = re.fullmatch(re.escape(base) + r"/reporting(/reports/[^/]+)", payload["report_url"])
    assert match, payload["report_url"]
    page = client.get(match.group(1))
    assert page.status_code == 200
    assert "Implementation team meetings" in page.get_data(as_text=True)
