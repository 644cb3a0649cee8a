"""The Coordinator's dashboard filtered by period and division, in headless Chromium at 1280
and 390 px with axe on each state: the filter form narrows every figure and says so in the
heading, a bad filter is refused beside its field, the page fits a phone, the PDF link asks
for the same figures, and printing (print media) leaves the navigation, the banner, the
footer and the form off the paper while the figures stay."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from services.reporting import create_app
from shared.config import load_agency_profile
from tests.browser.test_reporting_accessibility import sign_in
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import LIAISON, OTHER_LIAISON, ROOFERS
from tests.reporting.conflicts.test_domain import CORA, OTHER
from tests.reporting.figures.test_views import CONSTRUCTION, GENERAL, seed

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

WIDTH = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


def test_the_filtered_dashboard_reads_fits_prints_and_passes_axe(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    seed(ROOFERS, LIAISON, division=CONSTRUCTION, area="falls", reached=1234, state="MI")
    seed(OTHER, OTHER_LIAISON, division=GENERAL, area="heat", reached=567, state="OH")
    profile = load_agency_profile()
    unit = "Office level" if profile.federal else "Division"
    label = profile.divisions[CONSTRUCTION]
    sign_in(page, base_url, CORA)

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        # An older quarter stays in the list once asked for; the division is chosen in the form.
        response = page.goto(base_url + "/staff/dashboard?period=2024-q1")
        assert response is not None
        assert response.status == 200
        expect(page.get_by_label("Period", exact=True)).to_have_value("2024-q1")
        page.get_by_label(unit, exact=True).select_option(label=label)
        page.get_by_role("button", name="Show figures").click()
        page.wait_for_url(re.compile(r"period=2024-q1&division=" + CONSTRUCTION))
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text(f"Program figures: January to March 2024, {label}")
        expect(page.locator("#dashboard-summary")).to_contain_text(
            "January 1, 2024 to March 31, 2024"
        )
        people = page.get_by_role("table", name="People reached and trained by year")
        expect(people).to_contain_text("1244")
        expect(people).not_to_contain_text("577")
        pdf = page.get_by_role("link", name="Download as PDF")
        expect(pdf).to_have_attribute(
            "href", f"/staff/dashboard.pdf?period=2024-q1&division={CONSTRUCTION}"
        )
        wide = page.evaluate(WIDTH)
        assert wide <= width, f"the filtered dashboard is {wide} px wide at {width} px"
        assert_accessible(page, context_label=f"the filtered dashboard at {width} px")

        # Print: the figures alone, no navigation, banner, footer, form or buttons.
        page.emulate_media(media="print")
        expect(heading).to_be_visible()
        expect(page.locator("#staff-header")).to_be_hidden()
        expect(page.get_by_role("navigation", name="Figures and downloads")).to_be_hidden()
        expect(page.locator(".usa-banner")).to_be_hidden()
        expect(page.locator(".usa-footer")).to_be_hidden()
        expect(page.locator("#dashboard-filter")).to_be_hidden()
        expect(people).to_be_visible()
        charts = page.evaluate(
            "() => [...document.querySelectorAll('svg.bar-chart')].map("
            "(svg) => svg.getBoundingClientRect().right)"
        )
        assert len(charts) == 5
        assert max(charts) <= page.evaluate(WIDTH)
        page.emulate_media(media="screen")
        expect(page.locator("#dashboard-filter")).to_be_visible()

        # A bad filter: its message beside the field, no figures, axe still passes.
        response = page.goto(base_url + "/staff/dashboard?period=fy27&division=nowhere")
        assert response is not None
        assert response.status == 400
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("There are 2 problems")
        expect(page.locator("#filter-period-error")).to_contain_text(
            "Choose a period from the list"
        )
        expect(page.locator("#filter-division-error")).to_contain_text("from the list.")
        expect(page.get_by_label("Period", exact=True)).to_have_attribute("aria-invalid", "true")
        assert page.locator("svg.bar-chart").count() == 0
        expect(page.get_by_role("heading", level=1)).to_have_text("Program figures")
        assert page.evaluate(WIDTH) <= width
        assert_accessible(page, context_label=f"the dashboard refusing its filters at {width} px")

    answer = page.request.get(
        f"{base_url}/staff/dashboard.pdf?period=2024-q1&division={CONSTRUCTION}",
        timeout=60_000,  # a PDF drawn on a machine busy with the rest of the suite
    )
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF-")
    # No script error; a resource that failed is the 400 page itself, or the staff
    # navigation's count of held messages, which asks notify (not served here).
    assert [e for e in errors if "Failed to load resource" not in e] == []
