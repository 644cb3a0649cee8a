"""What waits, where the public goes, and how the headings read, in headless Chromium behind
the same gateway as ``make run``, at 1280 and 390 px with axe on every page:

- the staff navigation's "Messages" shows how many held messages wait for the person's
  release, as a badge read "Messages, 2 waiting"; a liaison, who may not release, sees none;
- after a release the decisions page says the e-mails are held for a last look in Messages,
  and its link leads there;
- the public directory is linked from the staff navigation, the proposal form and every
  page's footer;
- "Your account" is coloured as the link it is, not greyed as if disabled;
- on the evaluation page the requirement titles are h3s under their h2, and the sizes follow
  the outline (h1 > h2 > h3), as a form's large legends do (no larger than an h2)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from deploy.gateway import create_gateway
from shared.staff_auth import COOKIE_NAME
from tests.browser.test_evaluation_accessibility import seed as an_alliance_with_a_report
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import (
    acting_as,
    prepared_decision,
    proposal,
    queued_proposal,
    staff_member,
    staff_session,
)
from tests.notify.log.test_views import a_message, follows

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

WIDTHS = [1280, 390]
LINK_BLUE = "rgb(0, 94, 162)"  # USWDS's link colour, the "Sign out" beside "Your account"


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_gateway())


def sign_in(page: Page, base_url: str, person: Any) -> None:
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": staff_session(person), "url": base_url}]
    )


WIDER_THAN = """w => [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > w + 1)
    .slice(0, 5)
    .map(e => `${e.tagName}.${e.className}`)"""


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling of the page."""
    wider = page.evaluate(WIDER_THAN, width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wider


def open_menu(page: Page, width: int) -> None:
    """On a narrow screen the staff navigation folds behind "Menu"."""
    if width < 1024:
        page.get_by_role("button", name="Menu").click()


def font_size(page: Page, selector: str) -> float:
    return float(
        page.locator(selector).first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    )


def held_message(**values: Any) -> uuid.UUID:
    return a_message(1, status="held", proposal_id=uuid.uuid4(), **values)


@pytest.mark.parametrize("width", WIDTHS)
def test_messages_shows_how_many_wait_for_release(page: Page, base_url: str, width: int) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    held_message()
    held_message()
    sign_in(page, base_url, cora)

    for path in ("/review/staff/queue", "/reporting/staff/reports", "/notify/staff/log"):
        page.goto(base_url + path)
        open_menu(page, width)
        nav = page.get_by_role("navigation", name="Staff")
        messages = nav.get_by_role("link", name="Messages, 2 waiting", exact=True)
        expect(messages).to_be_visible()
        badge = messages.locator(".apm-nav-count")
        expect(badge).to_be_visible()
        expect(badge).to_have_text("2")
        # A clear badge: white on a dark red, at least 4.5:1 (axe checks the contrast).
        assert badge.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
        account = nav.get_by_role("link", name="Your account")
        expect(account).to_be_visible()
        assert account.evaluate("e => getComputedStyle(e).color") == LINK_BLUE
        assert "underline" in account.evaluate("e => getComputedStyle(e).textDecorationLine")
        assert_accessible(
            page, context_label=f"the staff header with a count on {path}, {width} px"
        )
        fits(page, width)

    # The count leads to the messages, and goes down as they are released.
    messages.click()
    page.wait_for_url(f"{base_url}/notify/staff/messages")
    page.locator("label[for='message-1']").click()
    page.get_by_role("button", name="Release the chosen messages").click()
    page.wait_for_url(f"{base_url}/notify/staff/messages")
    open_menu(page, width)
    nav = page.get_by_role("navigation", name="Staff")
    expect(nav.get_by_role("link", name="Messages, 1 waiting", exact=True)).to_be_visible()

    # The public directory, from the staff navigation.
    nav.get_by_role("link", name="Public directory").click()
    page.wait_for_url(f"{base_url}/review/directory")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alliance directory")
    assert_accessible(page, context_label=f"the public directory, {width} px")
    fits(page, width)
    assert errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_a_liaison_who_may_not_release_sees_no_count(page: Page, base_url: str, width: int) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    lee = staff_member("lee@agency.example", "liaison", name="Lee Liaison")
    follows(
        acting_as(lee), held_message()
    )  # their own alliance's, held: still not theirs to release
    sign_in(page, base_url, lee)

    page.goto(base_url + "/reporting/staff/reports")
    page.wait_for_load_state("networkidle")
    open_menu(page, width)
    nav = page.get_by_role("navigation", name="Staff")
    expect(nav.get_by_role("link", name="Messages", exact=True)).to_be_visible()
    expect(nav.locator(".apm-nav-count")).to_have_count(0)
    assert_accessible(page, context_label=f"a liaison's staff header, {width} px")
    fits(page, width)
    assert errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_after_a_release_the_decisions_page_points_to_messages(
    page: Page, base_url: str, width: int
) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    riley = staff_member("riley@agency.example", "reviewer", name="Riley Reviewer")
    prepared_decision(queued_proposal(proposal("Roofers")).proposal_id)
    sign_in(page, base_url, riley)

    page.goto(base_url + "/review/staff/decisions")
    expect(page.locator("#messages-held")).to_have_count(0)
    page.get_by_role("button", name="Release the chosen decisions").click()
    page.wait_for_url(f"{base_url}/review/staff/decisions")

    notice = page.locator("#messages-held")
    expect(notice).to_have_text(
        "The e-mails are held for a last look in Messages: release them there to send them."
    )
    assert_accessible(page, context_label=f"the decisions page after a release, {width} px")
    fits(page, width)
    notice.get_by_role("link", name="Messages").click()
    page.wait_for_url(f"{base_url}/notify/staff/messages")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_the_public_pages_link_the_directory(page: Page, base_url: str, width: int) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": width, "height": 900})

    page.goto(base_url + "/apply")
    intro = page.locator("#apply-directory")
    expect(intro).to_have_text("alliance directory")
    footer = page.get_by_role("contentinfo").get_by_role("link", name="Alliance directory")
    expect(footer).to_be_visible()
    # A form's large legends name its parts as h2s do: never larger than the page's h1.
    legend = font_size(page, ".usa-legend--large")
    assert legend < font_size(page, "h1")
    assert_accessible(page, context_label=f"the proposal form, {width} px")
    fits(page, width)

    footer.click()
    page.wait_for_url(f"{base_url}/review/directory")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alliance directory")
    page.goto(base_url + "/review/staff/sign-in")
    expect(
        page.get_by_role("contentinfo").get_by_role("link", name="Alliance directory")
    ).to_have_attribute("href", "/review/directory")
    assert_accessible(page, context_label=f"the sign-in page's footer, {width} px")
    assert errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_the_evaluation_headings_follow_the_outline(page: Page, base_url: str, width: int) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    alliance_id = an_alliance_with_a_report()
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    sign_in(page, base_url, cora)

    page.goto(f"{base_url}/reporting/staff/alliances/{alliance_id}/evaluations/0/1")
    outline = page.locator("main").evaluate(
        "m => [...m.querySelectorAll('h1, h2, h3, h4')].map(h => [h.tagName, h.textContent.trim()])"
    )
    levels = [int(tag[1]) for tag, _ in outline]
    assert levels[0] == 1
    # No level skipped on the way down; the requirements are h3s under their h2.
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    h2s = [text for tag, text in outline if tag == "H2"]
    assert h2s[0] == "Fundamental requirements"
    first_h3 = next(i for i, (tag, _) in enumerate(outline) if tag == "H3")
    assert outline[first_h3 - 1] == ["H2", "Fundamental requirements"]
    requirement = page.locator("legend h3").first
    expect(requirement).to_be_visible()
    h1, h2, h3 = (
        font_size(page, "main h1"),
        font_size(page, "main h2"),
        font_size(page, "legend h3"),
    )
    assert h1 > h2 > h3
    assert_accessible(page, context_label=f"the evaluation page, {width} px")
    fits(page, width)
    assert errors == []
