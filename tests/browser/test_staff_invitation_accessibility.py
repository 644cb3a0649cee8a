"""A new staff member sets their own password from the Coordinator's invitation, and anyone
who forgot theirs asks for a link: in headless Chromium at 1280 and 390 px, with axe on every
page on the way (the add-a-person form, the staff list, the set-your-password form with a
refused password, one's account after it, a used link's page, "Forgot your password?" and its
answer).

The link is read as the person gets it: review's event runs through notify's real consumer
(``notify.staff_password_link``), and the link is taken from the stored message's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

import services.notify.tasks
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.review import create_app
from services.review.models import OutboxEvent
from services.review.worker import database as review_database
from shared.config import load_settings
from tests.browser_harness import assert_accessible
from tests.factories import PASSWORD, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

CORA = "cora@agency.example"
LEE = "lee@agency.example"
LEES_PASSWORD = "orange kettle on the moon"
LEES_NEW_PASSWORD = "seven lanterns over lansing"


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    staff_member(CORA, "coordinator", name="Cora Coordinator")
    return live_server(create_app({"TESTING": False}))


def fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def mailed_link(base_url: str, template: str) -> str:
    """The newest "Set your password" link notify stored for ``template``, made from review's
    events by notify's own consumer, as it opens on this test's review app."""
    with review_database.transaction() as session:
        events = session.scalars(
            select(OutboxEvent.message)
            .where(OutboxEvent.type == "staff.password_link")
            .order_by(OutboxEvent.id)
        ).all()
    for event in events:
        services.notify.tasks.celery.tasks["notify.staff_password_link"](event=event)
    with notify_database.transaction() as session:
        text = session.scalars(
            select(Message.text_body)
            .where(Message.template == template)
            .order_by(Message.created_at.desc())
            .limit(1)
        ).one()
    link = re.search(r"^(https?://\S+/review/staff/set-password/\S+)$", text, re.M)
    assert link is not None, text
    # The gateway's /review is this app's root.
    return link[1].replace(load_settings().public_base_url + "/review", base_url)


def person(browser: Browser, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    return context.new_page()


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/staff/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/staff/queue")


@pytest.mark.parametrize("width", [1280, 390])
def test_an_invited_person_sets_their_password_and_signs_in(
    page: Page, browser: Browser, base_url: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, base_url, CORA, PASSWORD)

    # The Coordinator adds Lee without typing a password: the invitation is the default.
    page.goto(f"{base_url}/staff/people/new")
    expect(page.get_by_role("radio", name=re.compile("^E-mail an invitation"))).to_be_checked()
    assert_accessible(page, context_label=f"the add-a-person form, at {width} px")
    fits(page, width)
    page.locator("#email").fill(LEE)
    page.locator("#name").fill("Lee Liaison")
    page.locator("label[for='roles-3']").click()  # Liaison
    page.get_by_role("button", name="Add the person").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Lee Liaison was e-mailed an invitation to set their password."
    )
    assert_accessible(page, context_label=f"an invited person's page, at {width} px")
    fits(page, width)

    page.get_by_role("link", name="All staff").click()
    row = page.get_by_role("row", name=re.compile("Lee Liaison"))
    expect(row).to_contain_text("Invited, not yet signed in")
    assert_accessible(page, context_label=f"the staff list with an invitation, at {width} px")
    fits(page, width)
    # A new invitation: the first link dies.
    first = mailed_link(base_url, "staff_invitation")
    row.get_by_role("button", name="Send the invitation again to Lee Liaison").click()
    expect(page.get_by_role("status")).to_contain_text("A new invitation was sent to Lee Liaison.")
    link = mailed_link(base_url, "staff_invitation")
    assert link != first

    lee = person(browser, width)
    lee.goto(first)
    expect(lee.get_by_role("heading", level=1)).to_have_text("This link was replaced")
    assert_accessible(lee, context_label=f"a replaced invitation link, at {width} px")

    lee.goto(link)
    expect(lee.get_by_role("heading", level=1)).to_have_text("Set your password")
    expect(lee.get_by_text("Welcome, Lee Liaison.")).to_be_visible()
    assert_accessible(lee, context_label=f"the set-your-password form, at {width} px")
    fits(lee, width)
    lee.locator("#new-password").fill(LEES_PASSWORD)
    lee.locator("#confirm-password").fill("something else entirely")
    lee.get_by_role("button", name="Set password and sign in").click()
    expect(lee.locator("#error-summary")).to_contain_text(
        "New password again: The two new passwords are not the same."
    )
    expect(lee.locator("#confirm-password-error")).to_contain_text("not the same")
    assert_accessible(lee, context_label=f"the set-your-password form refused, at {width} px")
    fits(lee, width)

    lee.locator("#new-password").fill(LEES_PASSWORD)
    lee.locator("#confirm-password").fill(LEES_PASSWORD)
    lee.get_by_role("button", name="Set password and sign in").click()
    lee.wait_for_url(re.compile(r".*/staff/me\?password_set=invitation$"))
    expect(lee.get_by_role("status")).to_contain_text("Your password is set and you are signed in.")
    assert_accessible(lee, context_label=f"one's account after the invitation, at {width} px")
    fits(lee, width)

    # The link is spent.
    lee.goto(link)
    expect(lee.get_by_role("heading", level=1)).to_have_text("This link was already used")
    assert_accessible(lee, context_label=f"a used link's page, at {width} px")
    fits(lee, width)

    # Lee signs in again, in a fresh browser, with the password they chose.
    lee.context.clear_cookies()
    sign_in(lee, base_url, LEE, LEES_PASSWORD)

    page.goto(f"{base_url}/staff/people")
    expect(page.get_by_role("row", name=re.compile("Lee Liaison"))).not_to_contain_text("Invited")
    lee.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_forgotten_password_is_set_again_from_a_link(
    page: Page, base_url: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base_url}/staff/sign-in")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    assert_accessible(page, context_label=f"forgot your password, at {width} px")
    fits(page, width)

    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "E-mail address: Enter your e-mail address."
    )
    assert_accessible(page, context_label=f"forgot your password without an address, at {width}")

    page.locator("#email").fill(CORA)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_contain_text(
        "If an account exists for that address, we sent a link to set a new password."
    )
    assert_accessible(page, context_label=f"the answer to forgot your password, at {width} px")
    fits(page, width)

    page.goto(mailed_link(base_url, "staff_password_reset"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set your password")
    assert_accessible(page, context_label=f"the reset form, at {width} px")
    page.locator("#new-password").fill(LEES_NEW_PASSWORD)
    page.locator("#confirm-password").fill(LEES_NEW_PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url(re.compile(r".*/staff/me\?password_set=reset$"))
    expect(page.get_by_role("status")).to_contain_text(
        "Your password is set and you are signed in."
    )
    assert_accessible(page, context_label=f"one's account after a reset, at {width} px")

    page.context.clear_cookies()  # a fresh browser
    page.goto(f"{base_url}/staff/sign-in")
    page.locator("#email").fill(CORA)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#error-summary")).to_contain_text("E-mail or password is incorrect.")
    sign_in(page, base_url, CORA, LEES_NEW_PASSWORD)
