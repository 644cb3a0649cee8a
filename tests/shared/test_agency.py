"""Staff pages show every time of day in the agency's zone (AGENCY_TIMEZONE, America/Detroit
here) with the zone named, EST in winter and EDT in summer, never UTC: notify's message log
and a message's page, a proposal's history in review, an alliance's reports in reporting.

Every page's banner names whose official website it is (a state plan's state, or the United
States government), and the program's icon is served."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.intake import create_app
from services.notify import create_app as notify_app
from services.notify.models import Message
from services.notify.worker import database as notify_db
from services.reporting import create_app as reporting_app
from services.reporting.alliances import domain as alliances
from services.reporting.models import Report
from services.reporting.reports import domain as reports
from services.reporting.schedules.domain import ScheduleRules
from services.reporting.worker import database as reporting_db
from services.review import audit
from services.review import create_app as review_app
from services.review.worker import database as review_db
from shared.config import load_settings
from tests.intake.factories import proposal
from tests.review.factories import alliance_signed_event, queued_proposal, staff_member
from tests.shared.factories import COORDINATOR, REVIEWER, signed_in

pytestmark = pytest.mark.integration

WINTER = datetime(2026, 1, 15, 18, 13, tzinfo=UTC)  # 1:13 PM EST
SUMMER = datetime(2026, 7, 15, 18, 13, tzinfo=UTC)  # 2:13 PM EDT
WINTER_SHOWN = "Jan 15, 2026, 1:13 PM EST"
SUMMER_SHOWN = "Jul 15, 2026, 2:13 PM EDT"


@pytest.fixture
def detroit(redis_client: Any) -> None:
    assert load_settings().agency_timezone.key == "America/Detroit"


def shows_agency_time(html: str, *expected: str) -> None:
    for shown in expected:
        assert shown in html
    assert "UTC" not in html
    # <time datetime="..."> keeps the machine-readable ISO form; what is read is local.
    assert "18:13" not in re.sub(r'datetime="[^"]*"', "", html)


def a_message(at: datetime) -> uuid.UUID:
    with notify_db.transaction() as session:
        message = Message(
            cause=f"test:{uuid.uuid4()}",
            template="proposal_receipt",
            to_address="dana@example.org",
            subject="We received your Alliance proposal AP-2026-10007",
            text_body="Dear Dana,\n",
            html_body="<p>Dear Dana,</p>",
            reference="AP-2026-10007",
            status="sent",
            attempts=1,
            ambiguous_deliveries=0,
            created_at=at,
            next_attempt_at=at,
            sent_at=at,
        )
        session.add(message)
        session.flush()
        return message.id


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("detroit")
def test_the_message_log_and_a_message_page_show_eastern_time():
    winter, summer = a_message(WINTER), a_message(SUMMER)
    client = signed_in(notify_app({"TESTING": True}), COORDINATOR)
    log = client.get("/staff/log")
    assert log.status_code == 200
    shows_agency_time(log.get_data(as_text=True), WINTER_SHOWN, SUMMER_SHOWN)
    for message_id, shown in ((winter, WINTER_SHOWN), (summer, SUMMER_SHOWN)):
        page = client.get(f"/staff/log/{message_id}")
        assert page.status_code == 200
        shows_agency_time(page.get_data(as_text=True), shown)


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("detroit")
def test_a_proposals_history_shows_eastern_time():
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    with review_db.transaction() as session:
        for at, note in ((WINTER, "winter"), (SUMMER, "summer")):
            entry = audit.record(
                session,
                entity_type="proposal",
                entity_id=proposal_id,
                action="noted",
                actor="rev@agency.example",
                note=note,
            )
            entry.at = at
    reviewer = signed_in(
        review_app({"TESTING": True}), staff_member("rev@agency.example", "reviewer")
    )
    page = reviewer.get(f"/staff/proposals/{proposal_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<th scope="col">When</th>' in html
    shows_agency_time(html, WINTER_SHOWN, SUMMER_SHOWN)


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("detroit")
def test_an_alliances_reports_show_eastern_time():
    rules = ScheduleRules(timezone=load_settings().agency_timezone, quarterly=False)
    signed, ends = date(2024, 1, 15), date(2027, 1, 14)  # annual reports due each March 15
    event = alliance_signed_event("Roofers", signing_date=signed, ends_on=ends)
    alliance_id = event.payload["alliance_id"]
    with reporting_db.transaction() as session:
        alliances.record_signed(session, event=event)
        reports.schedule_term(
            session, alliance_id=alliance_id, term=0, signing_date=signed, ends_on=ends, rules=rules
        )
    for due, at in (
        (date(2025, 3, 15), datetime(2025, 3, 1, 18, 13, tzinfo=UTC)),
        (date(2026, 3, 15), datetime(2026, 3, 14, 18, 13, tzinfo=UTC)),
    ):
        with reporting_db.transaction() as session:
            report = session.scalars(
                select(Report).where(Report.alliance_id == alliance_id, Report.due_date == due)
            ).one()
            reports.mark_submitted(session, report_id=report.id, at=at)
    page = signed_in(reporting_app({"TESTING": True}), REVIEWER).get(
        f"/staff/alliances/{alliance_id}/reports"
    )
    assert page.status_code == 200
    shows_agency_time(
        page.get_data(as_text=True), "Mar 1, 2025, 1:13 PM EST", "Mar 14, 2026, 2:13 PM EDT"
    )
    csv = signed_in(reporting_app({"TESTING": True}), COORDINATOR).get("/staff/reports.csv")
    body = csv.data.decode("utf-8-sig")
    assert "2025-03-01 13:13 EST" in body
    assert "2026-03-14 14:13 EDT" in body
    assert "+00:00" not in body


def page() -> str:
    answer = create_app({"TESTING": True}).test_client().get("/apply")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_a_state_plans_banner_names_its_state_not_the_united_states(monkeypatch):
    monkeypatch.delenv("AGENCY_PROFILE", raising=False)
    html = page()
    assert "An official website of the State of Michigan" in html
    assert 'aria-label="Official website of the State of Michigan"' in html
    assert "United States government" not in html


def test_federal_osha_and_a_configured_government_are_named(monkeypatch):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    assert "An official website of the United States government" in page()
    monkeypatch.setenv("AGENCY_PROFILE", "state_plan")
    monkeypatch.setenv("AGENCY_GOVERNMENT", "the State of Oregon")
    assert "An official website of the State of Oregon" in page()


def test_every_page_names_the_programs_icon_and_it_is_served():
    html = page()
    assert '<link rel="icon" type="image/svg+xml" href="/assets/site/favicon.svg">' in html
    with create_app({"TESTING": True}).test_client().get("/assets/site/favicon.svg") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"
        assert icon.get_data(as_text=True).startswith("<svg")
