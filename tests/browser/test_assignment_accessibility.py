"""Assigning proposals from the queue, in headless Chromium at 1280 and 390 px with axe on each
state: the Coordinator ticks rows and chooses "Assign selected to" (a refused bulk keeps the
choices and names the proposal that failed, nothing assigned), the queue then shows "Assigned
to <name>", and its "Assigned to" filter narrows it to that reviewer's or nobody's; the
proposal's page offers the reviewers by name and its history names who did what."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from services.review import create_app
from services.review.queue.models import QueuedProposal
from services.review.staff.models import StaffUser
from services.review.worker import database
from tests.browser_harness import assert_accessible
from tests.factories import PASSWORD, proposal, queued_proposal, staff_member

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
    page.wait_for_url(f"{base_url}/staff/queue")


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling of the page."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def tick(page: Page, organization: str) -> None:
    """Tick a row's box as a person does: by its label (USWDS draws the box there)."""
    label = page.locator("label.usa-checkbox__label", has_text=f", {organization}")
    label.click()
    expect(page.get_by_label(re.compile(f"^Select AP-.*, {organization}$"))).to_be_checked()


def decline(queued: QueuedProposal) -> None:
    with database.transaction() as session:
        session.get(QueuedProposal, queued.id).status = "declined"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_coordinator_assigns_from_the_queue_and_filters_by_assignee(
    page: Page, base_url: str, coordinator: StaffUser, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    staff_member("riley@agency.example", "reviewer", name="Riley Reviewer")
    staff_member("rob@agency.example", "reviewer", name="Rob Reviewer")
    queued_proposal(proposal("Lansing Roofers"))
    queued_proposal(proposal("Flint Framers"))
    queued_proposal(proposal("Detroit Drywall"))
    decline(queued_proposal(proposal("Declined Decks")))
    sign_in(page, base_url)

    # A refused bulk: the declined one cannot be assigned, so nothing is.
    page.goto(f"{base_url}/staff/queue?status=waiting&status=declined")
    tick(page, "Lansing Roofers")
    tick(page, "Declined Decks")
    page.locator("#bulk-reviewer").select_option(label="Riley Reviewer")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Assign the selected proposals").click()
    assert answer.value.status == 409
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Nothing was assigned")
    expect(summary).to_contain_text("(Declined Decks): This proposal has been decided")
    expect(page.get_by_label(re.compile("^Select AP-.*, Lansing Roofers$"))).to_be_checked()
    expect(page.get_by_text("Assigned to Riley Reviewer")).to_have_count(0)
    assert_accessible(page, context_label=f"a refused bulk assignment, at {width} px")
    fits(page, width)

    # The open ones, assigned together.
    page.goto(f"{base_url}/staff/queue")
    tick(page, "Lansing Roofers")
    tick(page, "Flint Framers")
    page.locator("#bulk-reviewer").select_option(label="Riley Reviewer")
    page.get_by_role("button", name="Assign the selected proposals").click()
    page.wait_for_url(f"{base_url}/staff/queue")
    expect(page.get_by_text("2 proposals assigned.")).to_be_visible()
    expect(page.get_by_text("Assigned to Riley Reviewer")).to_have_count(2)
    assert_accessible(page, context_label=f"the queue after a bulk assignment, at {width} px")
    fits(page, width)

    page.locator("#filter-assigned").select_option(label="Riley Reviewer")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url(re.compile(r".*assigned=.*"))
    expect(page.get_by_role("link", name="Lansing Roofers")).to_be_visible()
    expect(page.get_by_role("link", name="Flint Framers")).to_be_visible()
    expect(page.get_by_role("link", name="Detroit Drywall")).to_have_count(0)
    assert_accessible(page, context_label=f"the queue filtered by assignee, at {width} px")
    fits(page, width)

    page.locator("#filter-assigned").select_option(label="Nobody")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url(re.compile(r".*assigned=nobody.*"))
    expect(page.get_by_role("link", name="Detroit Drywall")).to_be_visible()
    expect(page.get_by_role("link", name="Lansing Roofers")).to_have_count(0)

    # One at a time, from the proposal's page; its history names people.
    page.get_by_role("link", name="Detroit Drywall").click()
    page.locator("#reviewer-id").select_option(label="Rob Reviewer")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_text("The proposal is assigned to Rob Reviewer")).to_be_visible()
    history = page.locator("table", has=page.locator("caption", has_text="Every change"))
    expect(history).to_contain_text("Cora Coordinator")
    expect(history).to_contain_text("Assigned to: nobody → Rob Reviewer")
    expect(history).not_to_contain_text(EMAIL)
    assert_accessible(page, context_label=f"a proposal assigned from its page, at {width} px")
    fits(page, width)
