"""The one staff header (shared/templates/_staff_header.html) in headless Chromium, on one staff
page of each service behind the same gateway as ``make run``: the header is there (who is
signed in, the navigation with the current section, sign-out), axe-core finds no WCAG 2.1 AA /
Section 508 violation, on a phone-sized screen the "Menu" button opens the navigation and
"Close" folds it, and "Sign out" on another service's page signs the person out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from deploy.gateway import create_gateway
from shared.staff_auth import COOKIE_NAME
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import staff_member, staff_session

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

PAGES = (
    ("/review/staff/queue", "Queue", "the review queue"),
    ("/reporting/staff/reports", "Reports", "reporting's work list"),
    ("/notify/staff/messages", "Messages", "notify's messages waiting for release"),
    ("/notify/staff/log", "Messages", "notify's message log"),
)


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_gateway())


def sign_in_as_the_coordinator(page: Page, base_url: str) -> None:
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    page.context.add_cookies([{"name": COOKIE_NAME, "value": staff_session(cora), "url": base_url}])


def test_the_staff_header_on_each_services_page_is_accessible(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    sign_in_as_the_coordinator(page, base_url)
    for path, section, label in PAGES:
        response = page.goto(base_url + path)
        assert response is not None
        assert response.status == 200, path
        nav = page.get_by_role("navigation", name="Staff")
        expect(nav).to_be_visible()
        expect(page.locator("#staff-signed-in")).to_have_text(
            "Signed in as Cora Coordinator (Coordinator)"
        )
        expect(nav.get_by_role("link", name="Queue")).to_have_attribute(
            "href", "/review/staff/queue"
        )
        expect(nav.get_by_role("link", name="Webhooks")).to_be_visible()
        current = nav.locator('[aria-current="page"]')
        expect(current).to_have_count(1)
        expect(current).to_have_text(section)
        expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
        assert_accessible(page, context_label=f"the staff header on {label}")

    # Following the navigation from one service to another.
    page.goto(base_url + "/notify/staff/messages")
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Alliances").click()
    page.wait_for_url(f"{base_url}/review/staff/alliances")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alliances")
    assert errors == []


def test_on_a_narrow_screen_the_menu_button_opens_the_navigation(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in_as_the_coordinator(page, base_url)
    page.goto(base_url + "/reporting/staff/reports")

    queue = page.get_by_role("link", name="Queue", exact=True)
    expect(queue).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    assert_accessible(page, context_label="the staff header folded on a narrow screen")

    menu.click()
    expect(queue).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert_accessible(page, context_label="the staff navigation opened on a narrow screen")

    page.get_by_role("button", name="Close").click()
    expect(queue).to_be_hidden()
    assert errors == []


def test_sign_out_on_another_services_page_signs_the_person_out(page: Page, base_url: str) -> None:
    errors = watch_errors(page)
    sign_in_as_the_coordinator(page, base_url)
    page.goto(base_url + "/notify/staff/messages")

    page.get_by_role("button", name="Sign out").click()

    page.wait_for_url(f"{base_url}/review/staff/sign-in?signed_out=1")
    expect(page.get_by_role("navigation", name="Staff")).to_have_count(0)
    assert COOKIE_NAME not in {cookie["name"] for cookie in page.context.cookies()}
    # Notify no longer knows the person: it sends them to review's sign-in page.
    again = page.request.get(base_url + "/notify/staff/messages", max_redirects=0)
    assert again.status == 303
    assert "/review/staff/sign-in?next=%2Fnotify%2Fstaff%2Fmessages" in again.headers["location"]
    assert errors == []
