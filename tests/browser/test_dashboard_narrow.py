"""The Coordinator's dashboard on a 390 px phone and a 1280 px screen, in headless Chromium
served by the real reporting app: the page is no wider than the phone (its wide tables
scroll sideways in USWDS scrollable containers a keyboard can reach), every chart label lies
inside its chart (none clipped) and is drawn at a readable size, and axe-core finds no
WCAG 2.1 AA / Section 508 violation at either width."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from services.reporting import create_app
from services.reporting.proposals import domain as proposals
from services.reporting.reports import domain as reports
from services.reporting.worker import database
from tests.browser.test_reporting_accessibility import seed, sign_in
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import COORDINATOR, proposal, submitted_event
from tests.reporting.evaluations.test_views import content, submit

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

CHARTS = """() => [...document.querySelectorAll("svg.bar-chart")].map((svg) => {
    const box = svg.viewBox.baseVal;
    const scale = svg.getBoundingClientRect().width / box.width;
    const texts = [...svg.querySelectorAll("text")].map((text) => {
        const b = text.getBBox();
        return {text: text.textContent, left: b.x, right: b.x + b.width,
                px: parseFloat(text.getAttribute("font-size")) * scale};
    });
    return {id: svg.getAttribute("aria-labelledby"), width: box.width, texts};
})"""

CONTAINERS = """() => [...document.querySelectorAll(".usa-table-container--scrollable")].map(
    (box) => ({label: box.getAttribute("aria-label"), tabindex: box.getAttribute("tabindex"),
               role: box.getAttribute("role"), holds: !!box.querySelector("table"),
               scrolls: box.scrollWidth > box.clientWidth}))"""


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


def seed_dashboard() -> None:
    """An alliance with a submitted annual report full of activities (the people chart's
    long labels), and proposals from two states (the six-column table by state)."""
    alliance_id = seed()
    with database.transaction() as session:
        annual = next(
            r for r in reports.reports_of(session, alliance_id=alliance_id) if r.kind == "annual"
        )
    submit(annual.id, content(reached=150, day="2024-03-01"))
    with database.transaction() as session:
        for number, state in enumerate(("MI", "OH", "MI"), start=1):
            event = submitted_event(
                proposal(state=state),
                proposal_id=uuid.uuid4(),
                version=1,
                reference=f"AP-2026-{number:05d}",
            )
            proposals.record(session, event=event)


def test_the_dashboard_fits_a_phone_and_passes_axe(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    seed_dashboard()
    sign_in(page, base_url, COORDINATOR)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(base_url + "/staff/dashboard")
        assert response is not None
        assert response.status == 200
        wide = page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
        assert wide <= width, f"the dashboard is {wide} px wide at {width} px"
        charts = page.evaluate(CHARTS)
        assert len(charts) == 5
        for chart in charts:
            for text in chart["texts"]:
                assert text["left"] >= 0, f"{text['text']!r} is clipped on the left"
                assert text["right"] <= chart["width"], f"{text['text']!r} runs off the chart"
                assert text["px"] >= 12, f"{text['text']!r} is {text['px']:.1f} px at {width}"
        containers = page.evaluate(CONTAINERS)
        assert len(containers) == 5
        for box in containers:
            assert box["holds"]
            assert (box["tabindex"], box["role"]) == ("0", "region")
            assert box["label"]
        if width == 390:
            by_state = next(
                box for box in containers if box["label"].startswith("Proposals by state")
            )
            assert by_state["scrolls"], "the table by state should scroll inside its container"
            region = page.get_by_role("region", name="Proposals by state and status", exact=False)
            region.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.usa-table-container--scrollable')]"
                ".some((box) => box.scrollLeft > 0)"
            )
        assert_accessible(page, context_label=f"the dashboard at {width} px")
    assert page.get_by_text("People reached and trained", exact=True).first.is_visible()
    assert errors == []
