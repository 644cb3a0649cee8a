"""The annual evaluation page and the dashboard with people reached, in headless Chromium
served by the real app: axe-core finds no WCAG 2.1 AA / Section 508 violation on the empty
evaluation, the evaluation refused with inline errors, the recorded one, or the dashboard
with figures from a submitted report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.reports.models import Report
from services.reporting.worker import database
from shared.staff_auth import COOKIE_NAME
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import COORDINATOR, LIAISON, acting_as, alliance_signed_event, staff_session
from tests.factories import run_reporting_task as run_task
from tests.reporting.evaluations.test_views import content, submit

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


def seed() -> Any:
    event = alliance_signed_event(signing_date=date(2024, 1, 15), ends_on=date(2027, 1, 14))
    run_task("reporting.alliance_signed", event)
    alliance_id = event.payload["alliance_id"]
    with database.transaction() as session:
        first = session.scalars(
            select(Report.id)
            .where(Report.alliance_id == alliance_id, Report.kind == "annual")
            .order_by(Report.period_start)
        ).first()
    assert first is not None
    submit(first, content(reached=150))
    return alliance_id


def sign_in(page: Page, base_url: str, person: Any) -> None:
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": staff_session(person), "url": base_url}]
    )


def test_the_evaluation_page_and_the_dashboard_are_accessible(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    alliance_id = seed()
    sign_in(page, base_url, acting_as(LIAISON))
    page.goto(f"{base_url}/staff/alliances/{alliance_id}/evaluations/0/1")
    assert page.get_by_role("button", name="Record the evaluation").is_visible()
    assert_accessible(page, context_label="the empty evaluation")

    page.locator("#team-meets-rating + label").click()  # Meets, with no justification
    page.get_by_role("button", name="Record the evaluation").click()
    page.locator("#error-summary").wait_for()
    assert page.locator("#team-meets-justification-error").is_visible()
    assert_accessible(page, context_label="the evaluation with errors")
    assert len(errors) == 1
    assert "status of 422" in errors[0]
    errors.clear()  # Chromium logs the meant 422 page

    sign_in(page, base_url, COORDINATOR)
    response = page.goto(base_url + "/staff/dashboard")
    assert response is not None
    assert response.status == 200
    assert page.locator("#people-chart-title").count() == 1
    assert_accessible(page, context_label="the dashboard with people reached")
    assert errors == []
