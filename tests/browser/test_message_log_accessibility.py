"""Notify's message log in headless Chromium, behind the same gateway as ``make run``.

A signed-in Coordinator opens the log filtered by a proposal's
reference, then a failed message (its reason, both parts, the HTML part in a sandboxed frame
whose script never runs), confirms a resend and lands on the copy. axe-core finds no WCAG 2.1
AA / Section 508 violation on any of these pages, and no script fails.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from deploy.gateway import create_gateway
from services.notify.models import Message
from services.notify.worker import database as notify_database
from shared.db import utcnow
from shared.staff_auth import COOKIE_NAME
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import staff_member, staff_session

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

EMAIL = "cora@agency.example"
REFERENCE = "AP-2026-10007"
WAIT = 20_000  # ms: a busy machine signs and renders slowly


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_gateway())


def a_message(minutes_ago: int, **values: Any) -> uuid.UUID:
    at = utcnow() - timedelta(minutes=minutes_ago)
    fields = {
        "cause": f"test:{uuid.uuid4()}",
        "template": "proposal_receipt",
        "to_address": "dana@example.org",
        "subject": f"We received your Alliance proposal {REFERENCE}",
        "text_body": "Dear Dana,\n\nWe received your proposal.\n",
        "html_body": "<p>Dear Dana,</p><p>We received your proposal.</p>",
        "reference": REFERENCE,
        "status": "sent",
        "attempts": 1,
        "created_at": at,
        "sent_at": at,
        **values,
    }
    with notify_database.transaction() as session:
        message = Message(**fields)
        session.add(message)
        session.flush()
        return message.id


def test_the_message_log_and_a_message_are_accessible(base_url: str, page: Page) -> None:
    errors = watch_errors(page)
    a_message(40)
    a_message(30, template="decision_approved", subject=f"Decision on {REFERENCE}")
    a_message(20, template="alliance_signed", subject=f"Your alliance is signed ({REFERENCE})")
    a_message(
        15,
        template="alliance_signed_liaison",
        to_address="lee@agency.example",
        subject=f"Action required: you are the liaison ({REFERENCE})",
    )
    failed = a_message(
        10,
        template="report_due_soon",
        subject=f"Action required: your quarterly report for {REFERENCE} is due",
        status="failed",
        attempts=3,
        sent_at=None,
        last_error="SMTPRecipientsRefused: 550 5.1.1 <dana@example.org>: Recipient unknown",
        html_body=(
            "<p>Your report is due.</p>"
            "<script>document.title = 'script ran'; parent.document.title = 'script ran'</script>"
        ),
    )
    a_message(5, reference="AP-2026-10008", subject="About another proposal")
    cora = staff_member(EMAIL, "coordinator", "reviewer", name="Cora Coordinator")

    page.set_default_timeout(WAIT)
    # Signed in as signing in on review's page would (one session for every service).
    page.context.add_cookies([{"name": COOKIE_NAME, "value": staff_session(cora), "url": base_url}])

    page.goto(f"{base_url}/notify/staff/log")
    expect(page.get_by_role("heading", level=1)).to_have_text("Message log", timeout=WAIT)
    assert_accessible(page, context_label="the message log")

    page.locator("#reference").fill(REFERENCE.lower())
    page.get_by_role("button", name="Show the messages").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Messages about {REFERENCE}", timeout=WAIT
    )
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(5, timeout=WAIT)
    expect(page.get_by_text("The mail server refused the recipient's address")).to_be_visible(
        timeout=WAIT
    )
    assert_accessible(page, context_label="the message log filtered by reference")

    page.get_by_role("link", name=re.compile("your quarterly report")).click()
    page.wait_for_url(f"{base_url}/notify/staff/log/{failed}")
    expect(page.get_by_role("heading", name="This message was not delivered")).to_be_visible(
        timeout=WAIT
    )
    frame = page.frame_locator("iframe[sandbox]")
    expect(frame.get_by_text("Your report is due.")).to_be_visible(timeout=WAIT)
    assert page.title() != "script ran"
    assert_accessible(page, context_label="a failed message's page")

    page.get_by_role("link", name=re.compile("Resend a copy")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Resend", timeout=WAIT)
    assert_accessible(page, context_label="the resend confirmation")
    page.get_by_role("button", name="Yes, send a new copy").click()
    expect(page.get_by_role("status").filter(has_text="A new copy of")).to_be_visible(timeout=WAIT)
    assert_accessible(page, context_label="the copy's page after a resend")
    with notify_database.transaction() as session:
        copies = session.query(Message).filter(Message.cause.like(f"resend:{failed}:%")).all()
        assert [(m.to_address, m.status) for m in copies] == [("dana@example.org", "pending")]
    assert page.title() != "script ran"
    # The sandbox blocks the part's script; Chromium reports that on the console, nothing else.
    assert [e for e in errors if "sandboxed" not in e and "allow-scripts" not in e] == []
