"""Keeping a roundtable, in headless Chromium at 1280 and 390 px with axe on each step: the
Coordinator creates a roundtable from the staff navigation, adds an alliance, records a
meeting and a product (a link that is no web address refused beside its field first), and the
product is listed on the public directory, with its kind by its label."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from services.review import create_app
from services.review.staff.models import StaffUser
from tests.browser_harness import assert_accessible
from tests.factories import PASSWORD, agency_today, signed_alliance, staff_member

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
def test_the_coordinator_keeps_a_roundtable_and_its_product_reaches_the_directory(
    page: Page, base_url: str, coordinator: StaffUser, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    today = agency_today()
    roofers = signed_alliance("Lansing Roofers", signing_date=today - timedelta(days=400)).id
    sign_in(page, base_url)

    page.goto(f"{base_url}/staff/roundtables")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roundtables")
    assert_accessible(page, context_label=f"the roundtables, none yet, at {width} px")
    fits(page, width)

    page.get_by_label("Name").fill("Heat Illness Prevention Roundtable")
    page.get_by_label("Starts on").fill((today - timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Create it").click()
    page.wait_for_url(f"{base_url}/staff/roundtables/*")
    expect(page.get_by_role("status")).to_contain_text(
        "Roundtable created: Heat Illness Prevention Roundtable"
    )
    assert_accessible(page, context_label=f"a new roundtable's page, at {width} px")
    fits(page, width)

    # An alliance joins.
    page.locator("#member-alliance-id").select_option(str(roofers))
    page.get_by_role("button", name="Add the alliance").click()
    page.wait_for_url("**#members")
    expect(page.get_by_role("status")).to_contain_text("Lansing Roofers is a member from")
    members = page.locator("table", has=page.locator("caption", has_text="Alliances in it"))
    expect(members.locator("tbody tr")).to_contain_text("Lansing Roofers")

    # A meeting.
    page.get_by_label("Topic").fill("Water, rest, shade")
    page.get_by_label("Who attended").fill("Lansing Roofers; the agency's consultants")
    page.get_by_role("button", name="Record the meeting").click()
    page.wait_for_url("**#meetings")
    expect(page.locator("#meetings + ul")).to_contain_text("Water, rest, shade")

    # A product: a link that is no web address is refused beside its field, what was typed kept.
    form = page.locator("form", has=page.get_by_role("button", name="Record the product"))
    # A kind is chosen by its label, as a person does (USWDS draws the radio there).
    form.locator("label.usa-radio__label", has_text="Toolbox talk").click()
    expect(form.get_by_label("Toolbox talk")).to_be_checked()
    form.get_by_label("Title").fill("Heat Stress: Know the Signs")
    form.get_by_label("Link").fill("javascript:alert(1)")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Record the product").click()
    assert answer.value.status == 422
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Link: Give a web address starting with https://")
    summary.get_by_role("link").first.click()
    expect(page.locator("#product-url")).to_be_focused()
    expect(page.locator("#product-title")).to_have_value("Heat Stress: Know the Signs")
    assert_accessible(page, context_label=f"a refused product, at {width} px")
    fits(page, width)

    page.locator("#product-url").fill("https://agency.example/heat-stress.pdf")
    page.get_by_role("button", name="Record the product").click()
    page.wait_for_url("**#products")
    expect(page.get_by_role("status")).to_contain_text(
        "Product recorded: Heat Stress: Know the Signs, listed on the public directory."
    )
    product = page.locator("#products + ul li")
    expect(product).to_contain_text("(toolbox talk), published")
    expect(product).to_contain_text("recorded by Cora Coordinator")
    assert_accessible(page, context_label=f"the roundtable with its work, at {width} px")
    fits(page, width)

    # The public directory lists it, its kind by its label.
    page.get_by_role("link", name="Its products on the public directory").click()
    page.wait_for_url(f"{base_url}/directory#products")
    listed = page.locator("#products ~ ul li").first
    expect(listed.get_by_role("link", name="Heat Stress: Know the Signs")).to_have_attribute(
        "href", "https://agency.example/heat-stress.pdf"
    )
    expect(listed).to_contain_text("(Toolbox talk)")
    expect(listed).to_contain_text(
        "Heat Illness Prevention Roundtable, published " + today.strftime("%B %-d, %Y")
    )
    assert_accessible(page, context_label=f"the directory with the product, at {width} px")
    fits(page, width)
