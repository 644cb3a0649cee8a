"""The liaison's Reports tab and an overdue report's page in headless Chromium at 1280 and
390 px, served by the real app: open the overdue report from the work list, read where it
stands and its reminders, send the partner a new link (listed by name and time), then the
"Due in the next 30 days" view and the search by partner, with "No reports match". axe-core
finds no WCAG 2.1 AA / Section 508 violation, no JavaScript error, nothing wider than the
screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import update

from services.reporting import create_app
from services.reporting.alliances import domain as alliances
from services.reporting.models import Report, ReportReminder
from services.reporting.reports import domain as reports
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.staff_auth import COOKIE_NAME
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import LIAISON, acting_as, alliance_signed_event, staff_session

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

SIGNED = date(2026, 1, 15)


class _Kept:
    """An outbox that keeps nothing: the sweep's and the resend's events are not what these
    pages show (the resend's own event is tested in tests/reporting/reports/)."""

    def add(self, session: Any, event: Any) -> None:
        return None

    def add_many(self, session: Any, events: Any) -> None:
        return None


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


def seed() -> tuple[Report, Report]:
    """Two alliances of Lee's: the roofers' first report overdue (swept: its notices went
    out), and a report of the builders due in ten days."""
    today = datetime.now(UTC).astimezone(rules_from_settings().timezone).date()
    found = []
    for name in ("Michigan Roofing Contractors Association", "Great Lakes Builders"):
        event = alliance_signed_event(name, signing_date=SIGNED, ends_on=date(2028, 1, 14))
        with database.transaction() as session:
            alliances.record_signed(session, event=event)
            reports.schedule_term(
                session,
                alliance_id=event.payload["alliance_id"],
                term=0,
                signing_date=SIGNED,
                ends_on=date(2028, 1, 14),
            )
            first = reports.reports_of(session, alliance_id=event.payload["alliance_id"])[0]
            session.expunge(first)
            found.append(first)
    overdue, soon = found
    with database.transaction() as session:
        session.execute(
            update(Report)
            .where(Report.alliance_id == soon.alliance_id)
            .values(due_date=today + timedelta(days=400))
        )
        session.execute(
            update(Report).where(Report.id == soon.id).values(due_date=today + timedelta(days=10))
        )
        session.execute(
            update(Report)
            .where(Report.alliance_id == overdue.alliance_id, Report.id != overdue.id)
            .values(due_date=today + timedelta(days=400))
        )
        # Only the overdue report's reminders are left to the sweep: the others were moved.
        session.execute(
            update(ReportReminder)
            .where(ReportReminder.report_id != overdue.id)
            .values(skipped=True)
        )
    with database.transaction() as session:
        reports.sweep(session, now=datetime.now(UTC), outbox=_Kept())
    return overdue, soon


def fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_an_overdue_report_opened_from_the_work_list_and_its_link_sent_again(
    page: Page, base_url: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    errors = watch_errors(page)
    overdue, _soon = seed()
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": staff_session(acting_as(LIAISON)), "url": base_url}]
    )
    page.goto(f"{base_url}/staff/reports")
    assert page.locator("#results-count").inner_text() == "1 report matches."
    assert_accessible(page, context_label=f"the work list at {width} px")
    fits(page, width)

    # Open the overdue report from the work list.
    start, end = overdue.period_start, overdue.period_end
    period = f"{start:%B} {start.day}, {start.year} to {end:%B} {end.day}, {end.year}"
    page.locator("#overdue").get_by_role("link", name=f"Quarterly, {period}").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Quarterly report of Michigan Roofing").is_visible()
    assert page.locator("#due-words").inner_text().startswith("(Overdue by ")
    assert page.get_by_role("heading", name="Reminders").is_visible()
    assert page.get_by_text("Past-due notice, 14 days after the due date").is_visible()
    assert_accessible(page, context_label=f"an overdue report's page at {width} px")
    fits(page, width)

    page.get_by_role("button", name="Send the partner a new link to this report").click()
    page.wait_for_load_state()
    assert page.get_by_text("A new link to this report is on its way to Dana Smith").is_visible()
    sent = page.locator("#links-sent li").inner_text()
    assert sent.startswith("Link sent again on ")
    assert sent.endswith(" by Lee Liaison")
    assert_accessible(page, context_label=f"the report's page after a new link at {width} px")
    fits(page, width)

    # Back to the list: the reports due in the next 30 days, then a partner by part of its name.
    page.goto(f"{base_url}/staff/reports")
    page.get_by_label("Show").select_option(label="Due in the next 30 days")
    page.get_by_role("button", name="Show reports").click()
    page.wait_for_load_state()
    assert page.locator("#results-count").inner_text() == (
        "1 report matches: due in the next 30 days."
    )
    assert page.locator("#due-soon").get_by_text("Great Lakes Builders").is_visible()
    assert_accessible(page, context_label=f"due in the next 30 days at {width} px")
    fits(page, width)

    page.get_by_label("Partner").fill("ROOFING")
    page.get_by_role("button", name="Show reports").click()
    page.wait_for_load_state()
    assert page.locator("#results-count").inner_text() == (
        "No reports match: due in the next 30 days, partner name containing “ROOFING”."
    )
    assert page.get_by_label("Partner").input_value() == "ROOFING"
    assert_accessible(page, context_label=f"a search with no match at {width} px")
    fits(page, width)

    page.get_by_label("Show").select_option(label="Waiting for review, and overdue")
    page.get_by_role("button", name="Show reports").click()
    page.wait_for_load_state()
    assert page.locator("#results-count").inner_text() == (
        "1 report matches: partner name containing “ROOFING”."
    )
    assert page.locator("#overdue").get_by_role("link", name=f"Quarterly, {period}").is_visible()
    assert errors == []
