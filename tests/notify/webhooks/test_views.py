"""Notify's staff pages say who edited, released, resent, registered or replayed by name, not
by e-mail address; the API gives the name beside the address; rows recorded before names
were kept still read, by the address."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from services.notify import create_app
from services.notify.models import Message
from services.notify.webhooks import client as webhook_client
from services.notify.webhooks import tasks
from services.notify.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.notify.worker import database
from tests.factories import acting, held_decision_message, signed_in, submitted_event
from tests.offline_dns import OfflineResolver

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

CORA = acting("cora@agency.example", "coordinator", name="Cora Coordinator")
ADDRESS = "cora@agency.example"


@pytest.fixture
def app(redis_client: Any):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def page_of(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return " ".join(response.get_data(as_text=True).split())


def edited_by_cora(client: Any) -> uuid.UUID:
    message_id = held_decision_message().id
    saved = client.post(
        f"/staff/messages/{message_id}",
        data={"subject": "Decision on AP-2026-00009", "text_body": "Dear Dana,", "action": "save"},
    )
    assert saved.status_code == 303
    return message_id


# -- held messages and the message log -----------------------------------------------------------


def test_a_held_message_edited_and_released_names_cora(app):
    client = signed_in(app, CORA)
    message_id = edited_by_cora(client)

    held = page_of(client.get("/staff/messages"))
    assert "edited by Cora Coordinator" in held
    assert ADDRESS not in held

    client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})
    logged = page_of(client.get(f"/staff/log/{message_id}"))
    assert 'Edited by</dt><dd class="margin-left-0 margin-bottom-1">Cora Coordinator' in logged
    assert (
        'Released or resent by</dt><dd class="margin-left-0 margin-bottom-1">Cora Coordinator'
        in (logged)
    )
    assert ADDRESS not in logged

    shown = client.get(f"/api/v1/messages/{message_id}").get_json()
    assert (shown["edited_by"], shown["edited_by_name"]) == (ADDRESS, "Cora Coordinator")
    assert (shown["released_by"], shown["released_by_name"]) == (ADDRESS, "Cora Coordinator")


def test_a_copy_resent_by_cora_names_her_and_holding_again_forgets_the_release(app):
    client = signed_in(app, CORA)
    message_id = held_decision_message().id
    client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})
    copy_id = client.post(f"/api/v1/messages/{message_id}/resend").get_json()["id"]

    copy = client.get(f"/api/v1/messages/{copy_id}").get_json()
    assert (copy["released_by"], copy["released_by_name"]) == (ADDRESS, "Cora Coordinator")
    logged = page_of(client.get(f"/staff/log/{copy_id}"))
    assert (
        'Released or resent by</dt><dd class="margin-left-0 margin-bottom-1">Cora Coordinator'
        in (logged)
    )
    client.post("/api/v1/held/hold", json={"message_ids": [str(message_id)]})
    held_again = client.get(f"/api/v1/messages/{message_id}").get_json()
    assert (held_again["released_by"], held_again["released_by_name"]) == (None, None)


def test_a_message_edited_and_released_before_names_were_kept_reads_by_address(app):
    client = signed_in(app, CORA)
    message_id = edited_by_cora(client)
    with database.transaction() as session:
        session.execute(update(Message).where(Message.id == message_id).values(edited_by_name=None))

    assert f"edited by {ADDRESS}" in page_of(client.get("/staff/messages"))
    client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})
    with database.transaction() as session:
        session.execute(
            update(Message).where(Message.id == message_id).values(released_by_name=None)
        )
    logged = page_of(client.get(f"/staff/log/{message_id}"))
    assert f'Edited by</dt><dd class="margin-left-0 margin-bottom-1">{ADDRESS}' in logged
    assert f'Released or resent by</dt><dd class="margin-left-0 margin-bottom-1">{ADDRESS}' in (
        logged
    )
    assert client.get(f"/api/v1/messages/{message_id}").get_json()["edited_by_name"] is None


# -- webhooks -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def offline(monkeypatch: Any) -> None:
    """hooks.example.org is a public address; the network is never asked."""
    OfflineResolver({"hooks.example.org": ["93.184.215.14"]}).install(monkeypatch)


@pytest.fixture
def answered(monkeypatch: Any) -> list[str]:
    """Every webhook attempt is answered 200 without leaving the test; the URLs tried."""
    tried: list[str] = []

    def post(url: str, **_: Any) -> webhook_client.Answer:
        tried.append(url)
        return webhook_client.Answer(200, None, "ok", "", 5)

    monkeypatch.setattr(webhook_client, "post", post)
    return tried


def registered_by_cora(client: Any) -> uuid.UUID:
    made = client.post(
        "/staff/webhooks",
        data={
            "url": "https://hooks.example.org/alliance",
            "description": "Partner portal",
            "event_types": ["proposal.submitted"],
        },
    )
    assert made.status_code == 201
    with database.transaction() as session:
        [endpoint_id] = session.scalars(select(WebhookEndpoint.id)).all()
    return endpoint_id


def replayed_by_cora(client: Any, endpoint_id: uuid.UUID) -> uuid.UUID:
    event = submitted_event().to_message()
    tasks.CONSUMERS[event["type"]](event=event)
    with database.transaction() as session:
        [delivery_id] = session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id)
        ).all()
    assert tasks.deliver(delivery_id).status == "delivered"
    assert client.post(f"/staff/webhooks/deliveries/{delivery_id}").status_code == 303
    assert tasks.deliver(delivery_id).status == "delivered"
    return delivery_id


def test_an_endpoint_and_a_replayed_attempt_name_cora(app, answered):
    client = signed_in(app, CORA)
    endpoint_id = registered_by_cora(client)
    delivery_id = replayed_by_cora(client, endpoint_id)

    endpoint_page = page_of(client.get(f"/staff/webhooks/{endpoint_id}"))
    assert "by Cora Coordinator" in endpoint_page
    assert ADDRESS not in endpoint_page
    delivery_page = page_of(client.get(f"/staff/webhooks/deliveries/{delivery_id}"))
    assert "(replayed by Cora Coordinator)" in delivery_page
    assert ADDRESS not in delivery_page
    assert len(answered) == 2

    endpoint = client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}").get_json()
    assert (endpoint["created_by"], endpoint["created_by_name"]) == (ADDRESS, "Cora Coordinator")
    shown = client.get(f"/api/v1/webhooks/deliveries/{delivery_id}").get_json()
    assert [(a["replayed_by"], a["replayed_by_name"]) for a in shown["attempts_made"]] == [
        (None, None),
        (ADDRESS, "Cora Coordinator"),
    ]


def test_disabling_an_endpoint_says_who_by_name(app):
    client = signed_in(app, CORA)
    endpoint_id = registered_by_cora(client)

    client.post(f"/staff/webhooks/{endpoint_id}", data={"action": "disable"})

    assert "Disabled by Cora Coordinator." in page_of(client.get(f"/staff/webhooks/{endpoint_id}"))


def test_an_endpoint_and_an_attempt_recorded_before_names_were_kept_read_by_address(app, answered):
    client = signed_in(app, CORA)
    endpoint_id = registered_by_cora(client)
    delivery_id = replayed_by_cora(client, endpoint_id)
    with database.transaction() as session:
        session.execute(update(WebhookEndpoint).values(created_by_name=None))
        session.execute(update(WebhookAttempt).values(replayed_by_name=None))

    assert f"by {ADDRESS}" in page_of(client.get(f"/staff/webhooks/{endpoint_id}"))
    delivery_page = page_of(client.get(f"/staff/webhooks/deliveries/{delivery_id}"))
    assert f"(replayed by {ADDRESS})" in delivery_page
