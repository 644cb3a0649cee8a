"""The staff account pages in headless Chromium, served by the real review app (CSRF on).

The Coordinator signs in through the real sign-in page; axe-core then checks each page and
state against WCAG 2.1 AA and Section 508: one's account, the password form with a refused
change shown beside its fields, the staff list, the add-a-person form with every problem
named, a person's page, and the page that refuses deactivating the only Coordinator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from services.review import create_app
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import PASSWORD, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

EMAIL = "cora@agency.example"


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    staff_member(EMAIL, "coordinator", name="Cora Coordinator")
    return live_server(create_app({"TESTING": False}))


def test_the_staff_account_pages_are_accessible(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    page.goto(f"{base_url}/staff/sign-in")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/queue")

    page.goto(f"{base_url}/staff/me")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    assert_accessible(page, context_label="one's account")

    page.get_by_role("link", name="Change your password").click()
    page.locator("#current-password").fill("not my password")
    page.locator("#new-password").fill("another long passphrase")
    page.locator("#confirm-password").fill("another long passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#current-password-error")).to_have_text(
        "Your current password is not right."
    )
    assert_accessible(page, context_label="the password form with a refused change")

    page.goto(f"{base_url}/staff/people")
    expect(page.get_by_role("link", name="Cora Coordinator")).to_be_visible()
    assert_accessible(page, context_label="the staff list")

    page.get_by_role("link", name="Add a person").click()
    page.get_by_role("button", name="Add the person").click()
    expect(page.locator("#error-summary li")).to_have_count(3)  # the invitation needs no password
    assert_accessible(page, context_label="the add-a-person form with every problem")

    page.goto(f"{base_url}/staff/people")
    page.get_by_role("link", name="Cora Coordinator").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cora Coordinator")
    assert_accessible(page, context_label="a person's page")

    page.get_by_role("button", name="Deactivate the account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Not possible now")
    expect(page.get_by_role("alert")).to_contain_text("This is the only active Coordinator")
    assert_accessible(page, context_label="the refusal to deactivate the only Coordinator")

    unexplained = [e for e in errors if "Failed to load resource" not in e]
    assert unexplained == []
