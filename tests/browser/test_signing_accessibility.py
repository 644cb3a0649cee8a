"""Recording the signing of an approved alliance, in headless Chromium at 1280 and 390 px with
axe on each step: the alliance page says prominently that it awaits its signing, a date in
the future is refused beside its field, and the signing recorded makes it active, with the
Coordinator named (not their e-mail address) in its history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from services.review import create_app
from services.review.staff.models import StaffUser
from tests.browser_harness import assert_accessible
from tests.factories import PASSWORD, agency_today, approved_alliance, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

EMAIL = "cora@agency.example"


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


@pytest.fixture
def coordinator() -> StaffUser:
    return staff_member(EMAIL, "coordinator", name="Cora Coordinator")


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/staff/sign-in")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/**")


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling of the page."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_the_coordinator_records_the_signing(
    page: Page, base_url: str, coordinator: StaffUser, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    lee = staff_member("lee@agency.example", "liaison", name="Lee Liaison")
    alliance_id = approved_alliance("Lansing Roofers", liaison=lee, term_years=3).id
    today = agency_today()
    sign_in(page, base_url)

    page.goto(f"{base_url}/staff/alliances?status=awaiting_signature")
    row = page.locator("tbody tr", has_text="Lansing Roofers")
    expect(row).to_contain_text("Awaiting signature")
    assert_accessible(page, context_label=f"the alliances awaiting signature, at {width} px")
    fits(page, width)

    row.get_by_role("link", name="Lansing Roofers").click()
    page.wait_for_url(f"{base_url}/staff/alliances/{alliance_id}")
    waiting = page.locator("#awaiting-signature")
    expect(waiting).to_contain_text("Awaiting signature")
    expect(waiting).to_contain_text("the agreement's signing is not recorded yet")
    assert_accessible(page, context_label=f"an alliance awaiting signature, at {width} px")
    fits(page, width)

    # A date in the future is refused beside its field, and what was typed stays.
    waiting.get_by_role("link", name="Record the signing").click()
    signed = page.get_by_label("Date the agreement was signed")
    signed.fill((today + timedelta(days=1)).isoformat())
    expect(page.get_by_label("Term in years")).to_have_value("3")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Record the signing").click()
    assert answer.value.status == 422
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Date the agreement was signed:")
    expect(summary).to_contain_text("the date cannot be in the future")
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Date the agreement was signed")).to_be_focused()
    assert_accessible(page, context_label=f"a refused signing, at {width} px")
    fits(page, width)

    page.get_by_label("Date the agreement was signed").fill(today.isoformat())
    page.get_by_label("Term in years").select_option(label="2 years")
    page.get_by_role("button", name="Record the signing").click()
    page.wait_for_url(f"{base_url}/staff/alliances/{alliance_id}#agreement")
    long_today = today.strftime("%B %-d, %Y")
    expect(page.get_by_role("status")).to_contain_text(
        f"Signing recorded: signed on {long_today} for 2 years"
    )
    expect(page.locator("#awaiting-signature")).to_have_count(0)
    expect(page.locator(".usa-intro .usa-tag")).to_have_text("Active")
    history = page.locator("table", has=page.locator("caption", has_text="Every change"))
    expect(history.locator("tbody tr").last).to_contain_text("Cora Coordinator")
    expect(history).not_to_contain_text(EMAIL)
    assert_accessible(page, context_label=f"the alliance once signed, at {width} px")
    fits(page, width)
