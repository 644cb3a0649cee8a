"""A message's page in notify's log on a phone: the plain-text part of a reminder
holds long web addresses (the report's staff page, a webhook's), which did not wrap (USWDS has no
overflow-wrap utility) and made the page 493 px wide at 390. The project's stylesheet
(shared/static/site/site.css, after uswds.min.css) wraps it; the page fits 390 px with the
HTML source open too, and axe-core finds nothing at 390 and 1280 px."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from deploy.gateway import create_gateway
from services.notify.models import Message
from services.notify.worker import database as notify_database
from shared.db import utcnow
from shared.staff_auth import COOKIE_NAME
from tests.browser_harness import assert_accessible
from tests.factories import staff_member, staff_session

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

WAIT = 20_000  # ms: a busy machine signs and renders slowly
REFERENCE = "AP-2026-10044"
# The liaison's copy of a reminder links the report's staff page (the log hides the partner's
# signed links, so staff never see those); a webhook's address is as long as its owner likes.
STAFF_PAGE = f"http://127.0.0.1:8000/reporting/staff/reports/{uuid.UUID(int=2**128 - 1)}"
HOOK = "https://hooks.greatlakesroofingcontractors.org/alliance/events/" + "a1b2c3d4" * 8
WIDTH = "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_gateway())


def a_reminder() -> uuid.UUID:
    at = utcnow()
    with notify_database.transaction() as session:
        message = Message(
            cause=f"test:{uuid.uuid4()}",
            template="report_due_soon",
            to_address="lee.liaison@agency.example",
            subject=f"Action required: your quarterly report for {REFERENCE} is due July 30, 2026",
            text_body=(
                "Dear Lee Liaison,\n\nThe quarterly report is due on July 30, 2026.\n\n"
                f"The report in the staff pages:\n{STAFF_PAGE}\n\n"
                f"The partner's webhook:\n{HOOK}\n\n-- \nMIOSHA\n"
            ),
            html_body=f'<p>Dear Lee Liaison,</p><p><a href="{STAFF_PAGE}">Open the report</a></p>',
            reference=REFERENCE,
            status="sent",
            attempts=1,
            created_at=at,
            sent_at=at,
        )
        session.add(message)
        session.flush()
        return message.id


def test_a_message_with_a_long_link_fits_a_phone(base_url: str, page: Page) -> None:
    message_id = a_reminder()
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    page.set_default_timeout(WAIT)
    page.context.add_cookies([{"name": COOKIE_NAME, "value": staff_session(cora), "url": base_url}])

    stylesheets = []
    page.on(
        "response",
        lambda r: stylesheets.append((r.url, r.status)) if "/assets/site/" in r.url else None,
    )
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base_url}/notify/staff/log/{message_id}")
        text = page.get_by_label("Plain-text part")
        expect(text).to_contain_text(STAFF_PAGE, timeout=WAIT)
        expect(text).to_contain_text(HOOK, timeout=WAIT)
        assert page.evaluate(WIDTH) <= width
        page.get_by_text("The HTML source").click()
        expect(page.get_by_label("HTML source")).to_be_visible(timeout=WAIT)
        assert page.evaluate(WIDTH) <= width
        assert_accessible(page, context_label=f"a message's page at {width} px")
    assert stylesheets
    assert all(status in (200, 304) for _, status in stylesheets), stylesheets
