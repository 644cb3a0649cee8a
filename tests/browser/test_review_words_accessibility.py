"""Review's pages in words, in headless Chromium at 1280 and 390 px, with axe on
each: the queue filtered by a state chosen by its name, a resubmitted proposal's changes as the
form names them, a refused approval's error summary naming the liaison field by its label, the
decisions page naming the lead division, and the site title leading to the queue."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from services.review import create_app
from services.review.staff.models import StaffUser
from tests.browser_harness import assert_accessible
from tests.factories import PASSWORD, proposal, queued_proposal, staff_member, submitted_event

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

EMAIL = "cora@agency.example"
DASH = "\N{EN DASH}"


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


@pytest.fixture
def coordinator() -> StaffUser:
    return staff_member(EMAIL, "coordinator", "reviewer", name="Cora Coordinator")


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/staff/sign-in")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/queue")


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling of the page."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_reviews_pages_in_words(
    page: Page, base_url: str, coordinator: StaffUser, staff_liaison: StaffUser, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    queued_proposal(proposal("Toledo Roofers", state="OH"))
    first = queued_proposal(proposal("Lansing Roofers", state="MI"))
    edited = proposal("Lansing Roofers", state="MI", hazards=["heat", "falls"])
    edited["goals"][0]["activities"].reverse()  # only reordered: no change
    edited["goals"][1]["activities"].append("promote_training")
    queued_proposal(submitted_event(edited, version=2, proposal_id=first.proposal_id))
    sign_in(page, base_url)

    # The site title leads to the queue.
    page.get_by_role("link", name=re.compile("Alliance Program$")).click()
    page.wait_for_url(f"{base_url}/staff/queue")

    page.locator("#filter-state").select_option(label="Michigan")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url(re.compile(r".*state=MI.*"))
    expect(page.get_by_role("link", name="Lansing Roofers")).to_be_visible()
    expect(page.get_by_role("link", name="Toledo Roofers")).to_have_count(0)
    assert_accessible(page, context_label=f"the queue filtered by a state, at {width} px")
    fits(page, width)

    page.get_by_role("link", name="Lansing Roofers").click()
    changes = page.locator("table", has=page.locator("caption", has_text="Fields changed"))
    expect(changes.locator("tbody tr")).to_have_count(1)
    expect(changes.locator("tbody th")).to_have_text(f"Goal 2 {DASH} Activities")
    expect(changes.locator("tbody ins")).to_contain_text("Promote training programs and seminars")
    expect(page.get_by_text("Heat illness, Falls", exact=True)).to_be_visible()
    assert_accessible(page, context_label=f"a resubmitted proposal's changes, at {width} px")
    fits(page, width)

    page.locator("label.usa-radio__label", has_text=re.compile("^Approve$")).click()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Prepare the decision").click()
    assert answer.value.status == 422
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Liaison: Choose the liaison.")
    expect(summary).not_to_contain_text("Liaison id")
    assert_accessible(page, context_label=f"a refused approval's errors, at {width} px")
    fits(page, width)

    page.locator("label.usa-radio__label", has_text=re.compile("^Approve$")).click()
    page.locator("#liaison-id").select_option(label="Lee Liaison")
    page.get_by_role("button", name="Prepare the decision").click()
    page.wait_for_url(f"{base_url}/staff/decisions")
    expect(page.get_by_text("Lead division: Construction Safety & Health")).to_be_visible()
    assert_accessible(page, context_label=f"the decisions page, at {width} px")
    fits(page, width)


@pytest.fixture
def staff_liaison() -> StaffUser:
    return staff_member("lee@agency.example", "liaison", name="Lee Liaison")
