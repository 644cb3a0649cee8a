"""The Coordinator's import page in headless Chromium (the real review app, CSRF on), at a
desktop width and on a 390 px phone: axe-core finds nothing on the empty page, on a file's
problems listed by row and column, and on the import done; nothing scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from services.review import create_app
from services.review.alliances.models import Alliance
from services.review.worker import database
from tests.browser_harness import assert_accessible, watch_errors
from tests.review.factories import PASSWORD, staff_member
from tests.review.imports.test_domain import file_of, row

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

EMAIL = "nia@agency.example"


@pytest.fixture
def base_url(
    live_server: Callable[[Any], str], redis_client: Any, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    staff_member(EMAIL, "coordinator", name="Nia National")
    staff_member("lee@agency.example", "liaison", name="Lee Liaison")
    return live_server(create_app({"TESTING": False}))


def fits(page: Page, width: int) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"the page is {wide} px wide on a {width} px screen"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_import_page_its_problems_and_its_result_are_accessible(
    page: Page, base_url: str, width: int, tmp_path: Any
) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base_url}/staff/sign-in")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/**")

    page.goto(f"{base_url}/staff/alliances/import")
    assert_accessible(page, context_label=f"the import page, {width} px")
    fits(page, width)

    bad = tmp_path / "alliances.csv"
    bad.write_bytes(
        file_of(row(agreement_number="B", office="Atlantis", signing_date="2024-13-01"))
    )
    page.locator("#import-file").set_input_files(str(bad))
    with page.expect_navigation():
        page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-problems")).to_contain_text("nothing was stored")
    expect(page.locator("#problem-table")).to_contain_text("Office")
    assert_accessible(page, context_label=f"a file's problems, {width} px")
    fits(page, width)

    good = tmp_path / "good.csv"
    good.write_bytes(file_of(row()))
    page.locator("#import-file").set_input_files(str(good))
    with page.expect_navigation():
        page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-done")).to_contain_text("1 alliance imported")
    assert_accessible(page, context_label=f"the import done, {width} px")
    fits(page, width)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alliance)) == 1
    errors.clear()  # Chromium logs the meant 422 page
