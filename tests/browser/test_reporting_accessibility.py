"""Reporting's staff pages in headless Chromium, served by the real app: an alliance's
reports, the work list (a liaison's and the Coordinator's, with its filter) and the
Coordinator's dashboard with its SVG charts. axe-core finds no WCAG 2.1 AA / Section 508
violation on any of them, and no page raises a JavaScript error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from playwright.sync_api import Page

from services.reporting import create_app
from services.reporting.alliances import domain as alliances
from services.reporting.reports import domain as reports
from services.reporting.worker import database
from shared.staff_auth import COOKIE_NAME
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import COORDINATOR, LIAISON, acting_as, alliance_signed_event, staff_session

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


def seed() -> Any:
    event = alliance_signed_event(signing_date=date(2024, 1, 15), ends_on=date(2027, 1, 14))
    with database.transaction() as session:
        alliances.record_signed(session, event=event)
        reports.schedule_term(
            session,
            alliance_id=event.payload["alliance_id"],
            term=0,
            signing_date=date(2024, 1, 15),
            ends_on=date(2027, 1, 14),
        )
        reports.sweep(session, now=datetime(2026, 12, 1, tzinfo=UTC), outbox=_NoOutbox())
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=event.payload["alliance_id"])[0]
        reports.mark_submitted(session, report_id=first.id, at=datetime(2024, 4, 1, tzinfo=UTC))
    return event.payload["alliance_id"]


class _NoOutbox:
    def add(self, session: Any, event: Any) -> None:
        """The reminders' events are not what these pages show."""

    def add_many(self, session: Any, events: Any) -> None:
        """Nor are the sweep\'s."""


def sign_in(page: Page, base_url: str, person: Any) -> None:
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": staff_session(person), "url": base_url}]
    )


def test_the_reporting_staff_pages_are_accessible(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    alliance_id = seed()
    sign_in(page, base_url, COORDINATOR)
    for path, label in (
        (f"/staff/alliances/{alliance_id}/reports", "an alliance's reports"),
        ("/staff/reports", "the Coordinator's work list"),
        (f"/staff/reports?liaison={LIAISON.email}", "the work list for one liaison"),
        ("/staff/dashboard", "the Coordinator's dashboard"),
    ):
        response = page.goto(base_url + path)
        assert response is not None
        assert response.status == 200, path
        assert_accessible(page, context_label=label)
    sign_in(page, base_url, acting_as(LIAISON))
    page.goto(base_url + "/staff/reports")
    assert page.get_by_role("table").first.is_visible()
    assert_accessible(page, context_label="a liaison's work list")
    assert errors == []
