"""The message log's API lists messages in the order of the log page (newest first by the
time shown, ties by id), as its OpenAPI description says; and the Coordinator's operational
alerts (a message that could not be delivered, a webhook endpoint disabled) go to each known
active Coordinator by name, to COORDINATOR_EMAIL only while notify knows none."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from deploy.embedded import free_port
from services.notify import create_app, messages
from services.notify.models import Message
from services.notify.worker import database
from shared.config import load_agency_profile, load_settings
from shared.db import utcnow
from tests.factories import COORDINATOR, signed_in
from tests.integration.test_coordinator_mail import FALLBACK, announcement, consume
from tests.integration.test_delivery import a_pending_message, deliver, smtp_mailer
from tests.integration.test_notify_log import a_message, log_links, page_of
from tests.smtp import RefusingInbox, SmtpServer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

CORA = ("Cora Coordinator", "cora@agency.example")
COLIN = ("Colin Coordinator", "colin@agency.example")


@pytest.fixture
def app(redis_client: Any):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def api_ids(client: Any, query: str = "") -> list[str]:
    answer = client.get(f"/api/v1/messages?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [m["id"] for m in answer.get_json()["messages"]]


def test_the_api_lists_the_log_in_the_order_of_the_log_page(app):
    now = utcnow()
    # A decision letter recorded first but released and sent last shows at the top.
    letter = a_message(50, sent_at=now - timedelta(minutes=1), reference="AP-2026-10007")
    receipt = a_message(30, reference="AP-2026-10007")
    reminder = a_message(10, reference="AP-2026-10007")
    held = a_message(5, status="held", reference="AP-2026-10007")
    # Two at the same time come in the order of their ids, on the page and in the API.
    same = now - timedelta(minutes=20)
    twins = [
        a_message(0, created_at=same, sent_at=same, reference="AP-2026-10007") for _ in range(2)
    ]
    client = signed_in(app, COORDINATOR)

    page = log_links(page_of(client.get("/staff/log?reference=AP-2026-10007")))
    listed = api_ids(client, "reference=AP-2026-10007")

    expected = [str(i) for i in (letter, held, reminder, *sorted(twins), receipt)]
    assert page == expected
    assert listed == expected
    assert api_ids(client, "q=2026-10007") == expected


def test_the_openapi_description_says_the_order(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    described = spec["paths"]["/api/v1/messages"]["get"]["description"]
    assert "Newest first, in the order of the staff pages' log" in described
    assert "Oldest" not in described


def alerts(template: str) -> list[tuple[str, str, str]]:
    with database.transaction() as session:
        found = session.scalars(
            select(Message).where(Message.template == template).order_by(Message.to_address)
        ).all()
        return [(m.to_address, m.text_body.splitlines()[0], m.cause) for m in found]


def a_refused_delivery() -> tuple[uuid.UUID, messages.Outcome]:
    server = SmtpServer(free_port(), RefusingInbox())
    server.start()
    try:
        message_id = a_pending_message()
        return message_id, deliver(message_id, smtp_mailer(server.port))
    finally:
        server.stop()


def test_a_failed_delivery_is_told_to_each_known_coordinator_by_name(redis_client):
    consume(announcement(CORA, COLIN))

    message_id, outcome = a_refused_delivery()

    told = alerts("delivery_failed")
    assert [(address, greeting) for address, greeting, _ in told] == [
        ("colin@agency.example", "Dear Colin Coordinator,"),
        ("cora@agency.example", "Dear Cora Coordinator,"),
    ]
    assert all(cause.startswith(f"delivery_failed:{message_id}:coordinator:") for *_, cause in told)
    assert len(outcome.follow_up) == 2
    assert FALLBACK not in [address for address, *_ in told]


def test_a_failed_delivery_goes_to_coordinator_email_while_no_coordinator_is_known():
    message_id, outcome = a_refused_delivery()

    assert alerts("delivery_failed") == [
        (FALLBACK, "Dear Alliance Coordinator,", f"delivery_failed:{message_id}")
    ]
    assert len(outcome.follow_up) == 1


def disable(endpoint_id: uuid.UUID) -> list[uuid.UUID]:
    with database.transaction() as session:
        return messages.webhook_disabled(
            session,
            endpoint_id=endpoint_id,
            url="https://hooks.example/in",
            description="Partner CRM",
            reason="HTTP 410 Gone",
            disabled_at=utcnow(),
            settings=load_settings(),
            profile=load_agency_profile(),
        )


def test_a_disabled_webhook_is_told_to_each_known_coordinator_by_name(redis_client):
    consume(announcement(CORA, COLIN))

    created = disable(uuid.uuid4())

    told = alerts("webhook_disabled")
    assert [(address, greeting) for address, greeting, _ in told] == [
        ("colin@agency.example", "Dear Colin Coordinator,"),
        ("cora@agency.example", "Dear Cora Coordinator,"),
    ]
    assert len(created) == 2


def test_a_disabled_webhook_goes_to_coordinator_email_while_no_coordinator_is_known():
    endpoint_id = uuid.uuid4()

    created = disable(endpoint_id)

    [(address, greeting, cause)] = alerts("webhook_disabled")
    assert (address, greeting) == (FALLBACK, "Dear Alliance Coordinator,")
    assert cause.startswith(f"webhook_disabled:{endpoint_id}:")
    assert cause.count(":coordinator") == 0
    assert len(created) == 1
