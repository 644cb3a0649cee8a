"""Notify's staff pages in headless Chromium, behind the same gateway as ``make run``.

A Coordinator signs in on review's sign-in page (one sign-in for every service), then axe-core
checks the decision messages waiting for release, a held message's preview, and the failed and
uncertain deliveries, before and after a resend; then an edit refused inline, and the page that
refuses a message about an organization the Coordinator declared a conflict of interest with.
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
from services.notify.tasks import conflict_declared
from services.notify.worker import database as notify_database
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import PASSWORD, ROOFERS, conflict_declared_event, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

EMAIL = "cora@agency.example"


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


def create_the_coordinator() -> uuid.UUID:
    return staff_member(EMAIL, "coordinator", "reviewer", name="Cora Coordinator").id


def sign_in_as_the_coordinator(page: Page, base_url: str) -> None:
    """On review's sign-in page: one sign-in for every service."""
    page.goto(f"{base_url}/review/staff/sign-in")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/review/staff/queue")


def test_the_held_and_failed_message_pages_are_accessible(base_url: str, page: Page) -> None:
    errors = watch_errors(page)
    held = a_message(status="held")
    a_message(
        status="failed",
        attempts=13,
        to_address="nobody@unknown.example",
        subject="We received your Alliance proposal AP-2026-00043",
        last_error="550 5.1.1 <nobody@unknown.example>: Recipient address rejected",
    )

    create_the_coordinator()
    sign_in_as_the_coordinator(page, base_url)

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


def test_a_refused_edit_and_a_conflict_refusal_are_accessible(base_url: str, page: Page) -> None:
    errors = watch_errors(page)
    cora = create_the_coordinator()
    conflict_declared(event=conflict_declared_event(cora, ROOFERS).to_message())
    held = a_message(status="held")
    conflicted = a_message(
        status="held", organization_key="michigan roofing contractors association"
    )

    sign_in_as_the_coordinator(page, base_url)

    page.goto(f"{base_url}/notify/staff/messages/{held}")
    page.locator("#text-body").fill(" ")
    page.get_by_role("button", name="Save, keep holding").click()
    expect(page.locator("#error-summary")).to_contain_text("Message: Write the message.")
    expect(page.locator("#text-body")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, context_label="a held message refused inline")

    answer = page.goto(f"{base_url}/notify/staff/messages/{conflicted}")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("alert")).to_contain_text("You declared a conflict of interest")
    assert_accessible(page, context_label="the refusal of a message in conflict")
    # The browser reports the 422 and the 403 it was answered; no script failed.
    assert [e for e in errors if not e.startswith("console: Failed to load resource")] == []
