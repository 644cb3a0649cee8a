"""The note a declared conflict of interest leaves on reporting's lists, in headless
Chromium: a Coordinator in conflict with the only partner sees, on the dashboard and the
work list, that one alliance was left out, and nothing of it; axe-core finds no violation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from services.reporting import create_app
from services.reporting.conflicts import domain as conflicts
from services.reporting.worker import database
from tests.browser.test_reporting_accessibility import seed, sign_in
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import ROOFERS, acting, conflict_declared_event

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

NOTE = "1 alliance left out because you declared a conflict of interest."


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


def test_the_left_out_note_is_visible_and_accessible(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    seed()
    cory = acting("cory@agency.example", "coordinator", name="Cory Coordinator")
    with database.transaction() as session:
        conflicts.record_declared(session, event=conflict_declared_event(cory.staff_id))
    sign_in(page, base_url, cory)
    for path, label in (
        ("/staff/reports", "the work list of a Coordinator in conflict"),
        ("/staff/dashboard", "the dashboard of a Coordinator in conflict"),
    ):
        response = page.goto(base_url + path)
        assert response is not None
        assert response.status == 200, path
        assert page.get_by_text(NOTE).is_visible()
        assert ROOFERS not in page.content()
        assert_accessible(page, context_label=label)
    assert errors == []
