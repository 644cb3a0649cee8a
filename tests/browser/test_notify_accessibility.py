"""Notify's staff pages in headless Chromium, behind the same gateway as ``make run``.

A Coordinator signs in on review's sign-in page (one sign-in for every service), then axe-core
checks the decision messages waiting for release, a held message's preview, and the failed and
uncertain deliveries, before and after a resend.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from deploy.gateway import create_gateway
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.review.staff import domain as accounts
from services.review.worker import database as review_database
from tests.browser_harness import assert_accessible, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

EMAIL = "cora@agency.example"
PASSWORD = "a long enough password"


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_gateway())


def a_message(**values: Any) -> uuid.UUID:
    fields = {
        "cause": f"test:{uuid.uuid4()}",
        "template": "decision_declined",
        "to_address": "dana@example.org",
        "subject": "Your Alliance proposal AP-2026-00042",
        "text_body": "Thank you for your proposal.\n\nWe cannot accept it this year.\n",
        "html_body": "<p>Thank you for your proposal.</p><p>We cannot accept it this year.</p>",
        "reference": "AP-2026-00042",
        **values,
    }
    with notify_database.transaction() as session:
        message = Message(**fields)
        session.add(message)
        session.flush()
        return message.id


def test_the_held_and_failed_message_pages_are_accessible(base_url: str, page: Page) -> None:
    errors = watch_errors(page)
    with review_database.transaction() as session:
        accounts.add_account(
            session,
            email=EMAIL,
            name="Cora Coordinator",
            roles=["coordinator", "reviewer"],
            password=PASSWORD,
            actor="test",
        )
    held = a_message(status="held")
    a_message(
        status="failed",
        attempts=13,
        to_address="nobody@unknown.example",
        subject="We received your Alliance proposal AP-2026-00043",
        last_error="550 5.1.1 <nobody@unknown.example>: Recipient address rejected",
    )

    page.goto(f"{base_url}/review/staff/sign-in")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/review/staff/queue")

    page.goto(f"{base_url}/notify/staff/messages")
    expect(page.get_by_role("link", name=re.compile("Preview or edit"))).to_be_visible()
    assert_accessible(page, context_label="the messages waiting for release")

    page.goto(f"{base_url}/notify/staff/messages/{held}")
    assert_accessible(page, context_label="a held message's preview")

    page.goto(f"{base_url}/notify/staff/deliveries")
    expect(page.get_by_role("heading", level=1)).to_have_text("Failed and uncertain deliveries")
    expect(page.get_by_text("Recipient address rejected")).to_be_visible()
    assert_accessible(page, context_label="the failed and uncertain deliveries")

    page.get_by_role("button", name="Resend").click()
    expect(page.get_by_role("status")).to_be_visible()
    assert_accessible(page, context_label="the deliveries page after a resend")
    with notify_database.transaction() as session:
        copies = session.query(Message).filter(Message.cause.like("resend:%")).all()
    assert [(m.to_address, m.status) for m in copies] == [("nobody@unknown.example", "pending")]
    assert errors == []
