"""The pages a revision and an acceptance change, in headless Chromium at 1280 and 390 px,
served by the real app: the liaison's review form with its new-due-date field (refused with
an earlier date, beside the field), the partner's form after the revision request (what was
asked, above the form) and the partner's page once accepted. axe-core finds no WCAG 2.1 AA /
Section 508 violation and no page is wider than the screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page

from services.reporting import create_app
from services.reporting.reviews import domain as reviews
from services.reporting.submissions import domain as submissions
from services.reporting.submissions.tokens import make_token
from services.reporting.worker import database
from shared.config import load_agency_profile
from shared.staff_auth import COOKIE_NAME
from tests.browser.test_report_review_accessibility import _NoOutbox, content, seed
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import LIAISON, acting_as, staff_session

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

WIDTHS = (1280, 390)


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


def check_widths(page: Page, url: str | None, label: str) -> None:
    """axe at each width, and the page no wider than the screen (``url`` None: the page as
    it is, only resized)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if url is not None:
            response = page.goto(url)
            assert response is not None
            assert response.status == 200
        wide = page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
        assert wide <= width, f"{label} is {wide} px wide at {width} px"
        assert_accessible(page, context_label=f"{label} at {width} px")


def test_the_revision_and_acceptance_pages_at_1280_and_390(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    report_id = seed()
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": staff_session(acting_as(LIAISON)), "url": base_url}]
    )
    review_url = f"{base_url}/staff/reports/{report_id}"
    check_widths(page, review_url, "the review form with its due date field")

    page.get_by_label("Comments for the partner").fill("Name the city of each event.")
    page.get_by_label("New due date").fill("2026-01-01")
    page.get_by_role("button", name="Ask for a revision").click()
    page.wait_for_load_state()
    assert page.locator("#due-date[aria-invalid=true]").count() == 1
    assert page.get_by_role("link", name="Choose").first.is_visible()  # the error summary
    check_widths(page, None, "the review form refused with an earlier due date")
    assert len(errors) == 1
    assert "status of 422" in errors[0]
    errors.clear()  # Chromium logs the meant 422 page

    page.get_by_label("New due date").fill("")
    page.get_by_role("button", name="Ask for a revision").click()
    page.wait_for_load_state()
    assert page.get_by_text("A revision was asked for").is_visible()

    partner_url = f"{base_url}/reports/{make_token(report_id)}"
    page.context.clear_cookies()
    page.goto(partner_url)
    asked = page.locator("#revision-asked")
    assert "Name the city of each event." in asked.inner_text()
    check_widths(page, partner_url, "the partner's form after a revision request")

    with database.transaction() as session:
        submissions.submit(
            session,
            report_id=report_id,
            content=content(95, ["2026-02-10", "2026-03-26"]),
            goal_categories=load_agency_profile().goal_categories,
            at=datetime(2026, 5, 20, 15, tzinfo=UTC),
            outbox=_NoOutbox(),
        )
        reviews.accept(
            session,
            acting=acting_as(LIAISON),
            report_id=report_id,
            outbox=_NoOutbox(),
            now=datetime(2026, 5, 22, 15, tzinfo=UTC),
        )
    page.goto(partner_url)
    assert page.get_by_role("heading", name="Report accepted").is_visible()
    assert "May 22, 2026" in page.locator("#report-accepted").inner_text()
    check_widths(page, partner_url, "the partner's page of an accepted report")
    assert errors == []
