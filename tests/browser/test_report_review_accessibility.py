"""The review page of a report in headless Chromium, served by the real app: two versions
with their comparison, then the review form refused without comments (inline error and
summary). axe-core finds no WCAG 2.1 AA / Section 508 violation, no JavaScript error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from playwright.sync_api import Page

from services.reporting import create_app
from services.reporting.alliances import domain as alliances
from services.reporting.reports import domain as reports
from services.reporting.reports import review as reviews
from services.reporting.reports import submission as submissions
from services.reporting.worker import database
from shared.config import load_agency_profile
from shared.staff_auth import COOKIE_NAME
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import LIAISON, acting_as, alliance_signed_event, staff_session

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]


class _NoOutbox:
    def add(self, session: Any, event: Any) -> None:
        """The review's events are not what this page shows."""

    def add_many(self, session: Any, events: Any) -> None:
        """Nor are the sweep\'s."""


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


def content(reached: int, meetings: list[str]) -> dict[str, Any]:
    return {
        "meetings": [
            {"date": day, "topic": "Work plan", "attendees": "Dana Smith, Lee Park"}
            for day in meetings
        ],
        "dissemination": [],
        "outreach": [
            {
                "date": "2026-03-05",
                "event": "Spring roofing safety day",
                "city": "Lansing",
                "state": "MI",
                "emphasis_area": "heat",
                "number_reached": reached,
            }
        ],
        "staff_training": [],
        "products": [],
        "narratives": {"outreach_communication": {"results": "Reached people.", "obstacles": ""}},
    }


def seed() -> Any:
    """A report submitted, sent back for a revision, and submitted again: two versions."""
    event = alliance_signed_event(signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14))
    goals = load_agency_profile().goal_categories
    with database.transaction() as session:
        alliances.record_signed(session, event=event)
        reports.schedule_term(
            session,
            alliance_id=event.payload["alliance_id"],
            term=0,
            signing_date=date(2026, 1, 15),
            ends_on=date(2028, 1, 14),
        )
        report = reports.reports_of(session, alliance_id=event.payload["alliance_id"])[0]
        submissions.submit(
            session,
            report_id=report.id,
            content=content(85, ["2026-02-10"]),
            goal_categories=goals,
            at=datetime(2026, 4, 20, 15, tzinfo=UTC),
            outbox=_NoOutbox(),
        )
        reviews.request_revision(
            session,
            acting=acting_as(LIAISON),
            report_id=report.id,
            comments="Add the April meeting.",
            outbox=_NoOutbox(),
            now=datetime(2026, 5, 4, 15, tzinfo=UTC),
        )
        submissions.submit(
            session,
            report_id=report.id,
            content=content(95, ["2026-02-10", "2026-03-26"]),
            goal_categories=goals,
            at=datetime(2026, 5, 10, 15, tzinfo=UTC),
            outbox=_NoOutbox(),
        )
        return report.id


def test_the_review_page_is_accessible_with_two_versions_and_with_errors(
    page: Page, base_url: str
) -> None:
    errors = watch_errors(page)
    report_id = seed()
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": staff_session(acting_as(LIAISON)), "url": base_url}]
    )
    response = page.goto(f"{base_url}/staff/reports/{report_id}")
    assert response is not None
    assert response.status == 200
    assert page.get_by_role("heading", name="Changes from version 1 to version 2").is_visible()
    assert_accessible(page, context_label="a report's review page with two versions")

    page.get_by_role("button", name="Ask for a revision").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").is_visible()
    assert page.locator("#comments[aria-invalid=true]").count() == 1
    assert_accessible(page, context_label="the review form refused without comments")
    assert len(errors) == 1
    assert "status of 422" in errors[0]
    errors.clear()  # Chromium logs the meant 422 page

    page.get_by_label("Comments for the partner").fill("Name the city of each event.")
    page.get_by_role("button", name="Ask for a revision").click()
    page.wait_for_load_state()
    assert page.get_by_text("A revision was asked for").is_visible()
    assert_accessible(page, context_label="a report after a revision request")
    assert errors == []
