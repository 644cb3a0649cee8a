"""The review service's pages in headless Chromium, served by the real app (CSRF on).

Staff sign in through the real sign-in page, as anyone would; axe-core then checks each page
and state they meet against WCAG 2.1 AA and Section 508: the sign-in page (empty and with an
error), the review queue with a few proposals, a proposal (also with a refused decision's
errors shown), the decisions waiting for release, the scoring settings, the list of
alliances, an alliance's page (also with a refused renewal's errors shown) and the public
directory.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from services.review import create_app
from services.review.alliances import domain as agreements
from services.review.staff.models import StaffUser
from services.review.worker import database
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import (
    PASSWORD,
    acting_as,
    agency_today,
    proposal,
    queued_proposal,
    signed_alliance,
    staff_member,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

EMAIL = "cora@agency.example"
TODAY = agency_today()


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    # TESTING off and CSRF on: the browser carries the token like anyone's would.
    return live_server(create_app({"TESTING": False}))


@pytest.fixture
def js_errors(page: Page) -> Iterator[list[str]]:
    """Uncaught errors and console errors, less Chromium's line for each 4xx page we meant."""
    errors = watch_errors(page)
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: (
            statuses.append(r.status)
            if r.status >= 400 and r.request.resource_type == "document"
            else None
        ),
    )
    yield errors
    unexplained = list(errors)
    for status in statuses:
        logged = f"console: Failed to load resource: the server responded with a status of {status}"
        for error in unexplained:
            if error.startswith(logged):
                unexplained.remove(error)
                break
    assert unexplained == [], "the page raised JavaScript errors"


@pytest.fixture
def coordinator() -> StaffUser:
    """The Coordinator, also a reviewer and a liaison, so every form shows."""
    return staff_member(
        EMAIL, "coordinator", "reviewer", "liaison", name="Cora Coordinator", password=PASSWORD
    )


def arrive(name: str, areas: tuple[str, ...] = ("falls",)) -> uuid.UUID:
    return queued_proposal(proposal(name, priority_areas=areas)).proposal_id


def sign(name: str, liaison: StaffUser) -> uuid.UUID:
    """An approved and released proposal: the alliance's id, with some of its life."""
    cora = acting_as(liaison)
    with database.transaction() as session:
        signing_date = date(TODAY.year - 1, 3, 1)
        alliance_id = signed_alliance(
            name, signing_date=signing_date, liaison=liaison, session=session
        ).id
        agreements.add_milestone(
            session,
            acting=cora,
            alliance_id=alliance_id,
            title="Toolbox talks on ladders",
            target_date=TODAY + timedelta(days=60),
            responsible="The partner",
            description="Six talks, in English and Spanish",
            today=agency_today(),
        )
        agreements.add_meeting(
            session,
            acting=cora,
            alliance_id=alliance_id,
            met_on=TODAY,
            note="Kick-off",
            today=agency_today(),
        )
        agreements.add_document(
            session,
            acting=cora,
            alliance_id=alliance_id,
            title="Signed agreement",
            kind="agreement",
            url="https://agency.example/roofers.pdf",
        )
        return alliance_id


def choose(page: Page, label: str) -> None:
    """Click a USWDS radio's label (the input itself is drawn off screen), as people do."""
    page.locator("label.usa-radio__label", has_text=re.compile(f"^{re.escape(label)}$")).click()
    expect(page.get_by_label(label, exact=True)).to_be_checked()


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/staff/sign-in")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/queue")


def test_the_sign_in_page_is_accessible(
    page: Page, base_url: str, coordinator: StaffUser, js_errors: list[str]
) -> None:
    page.goto(f"{base_url}/staff/sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign-in")
    results = assert_accessible(page, context_label="the staff sign-in page")
    assert len(results["passes"]) > 10  # axe really looked at the page

    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#error-summary")).to_contain_text("E-mail or password is incorrect.")
    assert_accessible(page, context_label="the staff sign-in page with an error")


def test_the_queue_proposal_decisions_and_scoring_pages_are_accessible(
    page: Page, base_url: str, coordinator: StaffUser, js_errors: list[str]
) -> None:
    first = arrive("Falls Partner", areas=("falls",))
    arrive("Heat Partner", areas=("heat",))
    arrive("Trenching Partner", areas=())
    sign_in(page, base_url)

    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    expect(page.get_by_role("link", name="Falls Partner")).to_be_visible()
    assert_accessible(page, context_label="the review queue with three proposals")

    page.get_by_role("link", name="Falls Partner").click()
    page.wait_for_url(f"{base_url}/staff/proposals/{first}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Falls Partner")
    assert_accessible(page, context_label="a proposal")

    # Declining without a reason: the page comes back with the error beside the field.
    choose(page, "Decline")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Prepare the decision").click()
    assert answer.value.status == 422
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#decline-reason-error")).to_be_visible()
    assert_accessible(page, context_label="a proposal with a refused decision's errors")

    # Requesting changes: prepared, and waiting on the decisions page.
    choose(page, "Request changes")
    page.locator("#message").fill("Name the conferences you will attend.")
    page.get_by_role("button", name="Prepare the decision").click()
    page.wait_for_url(f"{base_url}/staff/decisions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Decisions to release")
    expect(page.get_by_text("Falls Partner")).to_be_visible()
    assert_accessible(page, context_label="the decisions page with a prepared decision")

    page.get_by_role("link", name="Settings", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/scoring")
    assert_accessible(page, context_label="the scoring page")


def test_the_alliance_pages_and_the_directory_are_accessible(
    page: Page, base_url: str, coordinator: StaffUser, js_errors: list[str]
) -> None:
    alliance_id = sign("Roofers Guild", coordinator)
    sign("Electricians Union", coordinator)
    sign_in(page, base_url)

    page.get_by_role("link", name="Alliances", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/alliances")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alliances")
    assert_accessible(page, context_label="the list of alliances")

    page.get_by_role("link", name="Roofers Guild").click()
    page.wait_for_url(f"{base_url}/staff/alliances/{alliance_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roofers Guild")
    expect(page.get_by_role("button", name="Renew the alliance")).to_be_visible()
    expect(page.get_by_text("Toolbox talks on ladders").first).to_be_visible()
    assert_accessible(page, context_label="an alliance's page with every form")

    # A renewal with no term: the page comes back with the error and the date typed.
    page.locator("#renewal-signing-date").fill(TODAY.isoformat())
    page.evaluate("document.querySelector('#renewal-term-years').required = false")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Renew the alliance").click()
    assert answer.value.status == 422
    expect(page.locator("#error-summary")).to_contain_text("Give the term in years.")
    expect(page.locator("#renewal-signing-date")).to_have_value(TODAY.isoformat())
    assert_accessible(page, context_label="an alliance's page with a refused renewal's errors")

    # A milestone marked done: the message after the redirect.
    page.locator(f"#milestone-{_milestone(alliance_id)}-status").select_option("done")
    page.get_by_role("button", name="Change “Toolbox talks on ladders”").click()
    expect(page.get_by_role("status")).to_contain_text("Toolbox talks on ladders: done")
    assert_accessible(page, context_label="an alliance's page after a change")

    response = page.goto(f"{base_url}/directory")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Alliance directory")
    expect(page.get_by_text("Roofers Guild")).to_be_visible()
    assert_accessible(page, context_label="the public directory")
    # In Spanish, from the switch on the page: lang="es", and axe finds nothing either.
    page.locator("#language-switch").click()
    page.wait_for_url("**/directory?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    expect(page.get_by_role("heading", level=1)).to_have_text("Directorio de alianzas")
    assert_accessible(page, context_label="the public directory in Spanish")


def _milestone(alliance_id: uuid.UUID) -> str:
    with database.transaction() as session:
        [milestone] = agreements.milestones(session, alliance_id)
        return str(milestone.id)


def test_page_titles_name_each_page(
    page: Page, base_url: str, coordinator: StaffUser, js_errors: list[str]
) -> None:
    alliance_id = sign("Roofers Guild", coordinator)
    sign_in(page, base_url)
    page.goto(f"{base_url}/staff/alliances/{alliance_id}")
    assert re.match(r"^Roofers Guild \(AP-\d{4}-\d{5}\) \| ", page.title())
    page.goto(f"{base_url}/staff/alliances")
    assert page.title().startswith("Alliances | ")
