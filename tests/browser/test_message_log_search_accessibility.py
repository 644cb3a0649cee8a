"""The message log's search in headless Chromium, behind the same gateway as ``make run``
a signed-in Coordinator types part of a reference, then part of a partner's name,
into the labelled search field beside the reference filter, at 1280 and 390 px. Only those
messages are listed, the page stays within the screen, and axe-core finds no WCAG 2.1 AA /
Section 508 violation.
"""

from __future__ import annotations

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

WAIT = 20_000  # ms: a busy machine signs and renders slowly


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_gateway())


def a_message(minutes_ago: int, reference: str, organization: str, subject: str) -> None:
    at = utcnow() - timedelta(minutes=minutes_ago)
    with notify_database.transaction() as session:
        session.add(
            Message(
                cause=f"test:{uuid.uuid4()}",
                template="proposal_receipt",
                to_address="dana@example.org",
                subject=subject,
                text_body="Dear Dana,\n",
                html_body="<p>Dear Dana,</p>",
                reference=reference,
                organization_key=organization,
                status="sent",
                attempts=1,
                created_at=at,
                sent_at=at,
            )
        )


def test_the_log_searched_by_part_of_a_reference_or_a_name_is_accessible(
    base_url: str, page: Page
) -> None:
    errors = watch_errors(page)
    roofers, bakers = "michigan roofing contractors association", "great lakes bakers guild"
    a_message(30, "AP-2026-10007", roofers, "We received your Alliance proposal AP-2026-10007")
    a_message(20, "AP-2026-10007", roofers, "Your Alliance proposal AP-2026-10007 is approved")
    a_message(10, "AP-2026-20001", bakers, "We received your Alliance proposal AP-2026-20001")
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    page.set_default_timeout(WAIT)
    page.context.add_cookies([{"name": COOKIE_NAME, "value": staff_session(cora), "url": base_url}])

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base_url}/notify/staff/log")
        search = page.get_by_role("searchbox", name="Search the messages")
        search.fill("ap-2026-1")
        page.get_by_role("button", name="Show the messages").click()
        expect(page.locator("table tbody tr")).to_have_count(2, timeout=WAIT)
        expect(page.get_by_role("heading", level=1)).to_have_text("Message log")
        expect(page.get_by_role("searchbox", name="Search the messages")).to_have_value("ap-2026-1")
        wide = page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
        assert wide <= width, f"the log is {wide} px wide at {width} px"
        assert_accessible(page, context_label=f"the log searched by reference at {width} px")

        page.get_by_role("searchbox", name="Search the messages").fill("Lakes Bakers")
        page.get_by_role("button", name="Show the messages").click()
        expect(page.locator("table tbody tr")).to_have_count(1, timeout=WAIT)
        expect(page.locator("table tbody")).to_contain_text("AP-2026-20001")
        assert_accessible(page, context_label=f"the log searched by name at {width} px")
    assert errors == []
