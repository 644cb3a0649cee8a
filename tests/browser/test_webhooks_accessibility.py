"""The webhook pages in headless Chromium, behind the same gateway as ``make run``: the
Coordinator registers an endpoint (a refused URL inline first), sees its secret once, the
endpoint with a failed and a delivered attempt, and a delivery with its attempts, replayed.
axe-core finds no violation on any of them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from deploy.gateway import create_gateway
from services.notify.webhooks import tasks
from services.notify.webhooks.models import WebhookDelivery, WebhookEndpoint
from services.notify.worker import database
from tests.browser.test_notify_accessibility import (
    create_the_coordinator,
    sign_in_as_the_coordinator,
)
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import submitted_event
from tests.webhook_receiver import Reply, WebhookReceiver

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def base_url(
    live_server: Callable[[Any], str], redis_client: Any, receiver: WebhookReceiver
) -> str:
    return live_server(create_gateway())


def test_the_webhook_pages_are_accessible(
    base_url: str, page: Page, receiver: WebhookReceiver
) -> None:
    errors = watch_errors(page)
    create_the_coordinator()
    sign_in_as_the_coordinator(page, base_url)

    page.goto(f"{base_url}/notify/staff/webhooks")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    assert_accessible(page, context_label="the webhook endpoints, none yet")

    page.locator("#url").fill("https://169.254.169.254/latest")
    # USWDS draws its own box: the person clicks the label.
    page.locator("label[for='event-types']").click()
    expect(page.get_by_label("A proposal was submitted")).to_be_checked()
    page.get_by_role("button", name="Register the endpoint").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "Endpoint URL: The URL must point to a public address"
    )
    expect(page.locator("#url")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, context_label="an endpoint refused inline")

    page.locator("#url").fill(receiver.url)
    page.locator("#description").fill("The partner portal")
    page.get_by_role("button", name="Register the endpoint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Endpoint registered")
    expect(page.locator("#secret")).to_have_value(re.compile(r"^whsec_"))
    assert_accessible(page, context_label="the new endpoint's secret")

    receiver.answer(Reply(500, body=b"<h1>Internal error</h1>"), Reply(200))
    event = submitted_event().to_message()
    tasks.CONSUMERS["proposal.submitted"](event=event)
    with database.transaction() as session:
        delivery_id = session.scalars(select(WebhookDelivery.id)).one()
        endpoint_id = session.scalars(select(WebhookEndpoint.id)).one()
    assert tasks.deliver(delivery_id).status == "pending"

    page.goto(f"{base_url}/notify/staff/webhooks/{endpoint_id}")
    expect(page.get_by_role("link", name="proposal.submitted")).to_be_visible()
    expect(page.get_by_text("HTTP 500").first).to_be_visible()
    assert_accessible(page, context_label="an endpoint with a failed delivery")

    page.get_by_role("link", name="proposal.submitted").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delivery of proposal.submitted")
    assert_accessible(page, context_label="a delivery's attempts")
    page.get_by_role("button", name="Replay this delivery").click()
    expect(page.get_by_role("status")).to_contain_text("Replaying")
    assert tasks.deliver(delivery_id).status == "delivered"
    page.reload()
    expect(page.get_by_text("replayed by Cora Coordinator")).to_be_visible()
    assert_accessible(page, context_label="a replayed delivery")

    page.goto(f"{base_url}/notify/staff/webhooks")
    expect(page.get_by_role("link", name=receiver.url)).to_be_visible()
    assert_accessible(page, context_label="the webhook endpoints")
    assert [e for e in errors if not e.startswith("console: Failed to load resource")] == []
