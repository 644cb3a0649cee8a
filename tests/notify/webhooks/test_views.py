"""Notify's staff pages say who edited, released, resent, registered or replayed by name, not
by e-mail address; the API gives the name beside the address; rows recorded before names
were kept still read, by the address.

Webhooks end to end against real PostgreSQL, Redis and a real HTTP receiver on loopback
(allowed by WEBHOOK_ALLOWED_HOSTS for these tests): the consumer records one delivery per
(event, endpoint), the attempt is signed after Standard Webhooks (checked with the
``standardwebhooks`` library), retried on the schedule and on Retry-After, 3xx fails and is
never followed, 410 disables, days of failures disable and tell the Coordinator, staff replay.

SSRF: every socket connect is watched; a connect anywhere but loopback fails the test, and
the tests that name internal targets check that nothing was sent at all."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select, update

from services.notify.models import Message
from services.notify.webhooks import client as webhook_client
from services.notify.webhooks import domain, tasks
from services.notify.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.notify.worker import database
from tests.intake.factories import submitted_event
from tests.notify.webhooks.helpers import (
    deliveries,
    endpoint,
    one_delivery_for,
    register,
)
from tests.notify.webhooks.network import INTERNAL_HOSTS, PUBLIC_ONLY
from tests.offline_dns import OfflineResolver
from tests.shared.factories import COORDINATOR, REVIEWER, acting, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

CORA = acting("cora@agency.example", "coordinator", name="Cora Coordinator")
ADDRESS = "cora@agency.example"


def page_of(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return " ".join(response.get_data(as_text=True).split())


# -- webhooks -------------------------------------------------------------------------------------


@pytest.fixture
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


@pytest.mark.usefixtures("offline")
def test_an_endpoint_and_a_replayed_attempt_name_cora(notify_app, answered):
    client = signed_in(notify_app, CORA)
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


@pytest.mark.usefixtures("offline")
def test_disabling_an_endpoint_says_who_by_name(notify_app):
    client = signed_in(notify_app, CORA)
    endpoint_id = registered_by_cora(client)

    client.post(f"/staff/webhooks/{endpoint_id}", data={"action": "disable"})

    assert "Disabled by Cora Coordinator." in page_of(client.get(f"/staff/webhooks/{endpoint_id}"))


@pytest.mark.usefixtures("offline")
def test_an_endpoint_and_an_attempt_recorded_before_names_were_kept_read_by_address(
    notify_app, answered
):
    client = signed_in(notify_app, CORA)
    endpoint_id = registered_by_cora(client)
    delivery_id = replayed_by_cora(client, endpoint_id)
    with database.transaction() as session:
        session.execute(update(WebhookEndpoint).values(created_by_name=None))
        session.execute(update(WebhookAttempt).values(replayed_by_name=None))

    assert f"by {ADDRESS}" in page_of(client.get(f"/staff/webhooks/{endpoint_id}"))
    delivery_page = page_of(client.get(f"/staff/webhooks/deliveries/{delivery_id}"))
    assert f"(replayed by {ADDRESS})" in delivery_page


@pytest.mark.usefixtures("guard", "names", "webhook_env")
def test_the_pages_register_an_endpoint_and_show_its_secret_once(notify_app):
    client = signed_in(notify_app, COORDINATOR)
    assert client.get("/staff/webhooks").status_code == 200

    refused = client.post(
        "/staff/webhooks",
        data={"url": "https://169.254.169.254/", "event_types": ["proposal.submitted"]},
    )
    assert refused.status_code == 422
    assert "The URL must point to a public address" in refused.get_data(as_text=True)

    made = client.post(
        "/staff/webhooks",
        data={
            "url": "https://hooks.example.org/alliance",
            "description": "Partner portal",
            "event_types": ["proposal.submitted", "alliance.signed"],
        },
    )
    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    page = made.get_data(as_text=True)
    [secret] = [word for word in page.split('"') if word.startswith("whsec_")]
    [stored] = list_all_endpoints()
    shown = client.get(f"/staff/webhooks/{stored.id}").get_data(as_text=True)
    assert "https://hooks.example.org/alliance" in shown
    assert secret not in shown
    assert secret not in client.get("/staff/webhooks").get_data(as_text=True)

    rotated = client.post(f"/staff/webhooks/{stored.id}", data={"action": "rotate"})
    assert "whsec_" in rotated.get_data(as_text=True)
    assert secret not in rotated.get_data(as_text=True)
    disabled = client.post(f"/staff/webhooks/{stored.id}", data={"action": "disable"})
    assert disabled.status_code == 303
    assert not endpoint(stored.id).enabled


def list_all_endpoints() -> list[WebhookEndpoint]:
    with database.transaction() as session:
        found = list(session.scalars(select(WebhookEndpoint)))
        session.expunge_all()
        return found


@pytest.mark.usefixtures("guard", "names", "webhook_env")
def test_the_message_log_of_a_reference_lists_its_webhook_deliveries_for_the_coordinator(
    notify_app, receiver, redis_client
):
    endpoint_id, delivery_id, _secret = one_delivery_for(receiver.url)
    tasks.deliver(delivery_id)
    [delivery] = deliveries(endpoint_id)
    assert delivery.reference.startswith("AP-")
    reference = delivery.reference
    with database.transaction() as session:  # the receipt, naming the organization
        session.add(
            Message(
                cause=f"test:{uuid.uuid4()}",
                template="proposal_receipt",
                to_address="dana@example.org",
                subject=f"We received your Alliance proposal {reference}",
                text_body="Thank you.",
                html_body="<p>Thank you.</p>",
                reference=reference,
                organization_key="michigan roofing contractors association",
                status="sent",
            )
        )

    page = signed_in(notify_app, COORDINATOR).get(f"/staff/log?reference={reference}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"Webhook deliveries about {reference}" in html
    assert f'href="/staff/webhooks/deliveries/{delivery_id}"' in html
    assert "Delivered" in html
    assert "HTTP 200" in html
    reviewer_page = signed_in(notify_app, REVIEWER).get(f"/staff/log?reference={reference}")
    assert "Webhook deliveries" not in reviewer_page.get_data(as_text=True)
    with database.transaction() as session:
        assert domain.deliveries_about(session, COORDINATOR, reference="AP-0000-0") == []
        in_conflict = acting(
            COORDINATOR.email, "coordinator", conflicts=["Michigan Roofing Contractors Association"]
        )
        assert domain.deliveries_about(session, in_conflict, reference=reference) == []
        assert [
            d.id for d, _e in domain.deliveries_about(session, COORDINATOR, reference=reference)
        ] == [delivery_id]


# -- one address check for registration and delivery, form by form ----------------------------

HELP = "WEBHOOK_ALLOWED_HOSTS"


def stored_urls() -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(select(WebhookEndpoint.url)))


@pytest.mark.usefixtures("guard", "names", "webhook_env")
@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_the_page_refuses_an_internal_host_however_written_inline(monkeypatch, notify_app, host):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    client = signed_in(notify_app, COORDINATOR)

    answer = client.post(
        "/staff/webhooks",
        data={"url": f"https://{host}/hooks", "event_types": ["proposal.submitted"]},
    )

    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    field_error = page.partition('<span class="usa-error-message" id="url-error">')[2]
    assert field_error.startswith(PUBLIC_ONLY)
    assert 'aria-invalid="true"' in page.partition('id="url"')[2].partition(">")[0]
    assert HELP in page  # how an operator lets a local receiver through
    assert stored_urls() == []


@pytest.mark.usefixtures("guard", "names", "webhook_env")
def test_a_changed_url_is_checked_again_and_an_unchanged_one_is_not_looked_up(
    monkeypatch, notify_app, names
):
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    endpoint_id, _secret = register("https://hooks.example.org/alliance")
    client = signed_in(notify_app, COORDINATOR)

    moved = client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint_id}", json={"url": "https://127.1/"}
    )
    assert moved.status_code == 422
    assert moved.get_json()["errors"]["url"][0].startswith(PUBLIC_ONLY)
    page = client.post(
        f"/staff/webhooks/{endpoint_id}",
        data={"url": "https://0x7f000001/", "event_types": ["proposal.submitted"]},
    )
    assert page.status_code == 422
    assert PUBLIC_ONLY + "0x7f000001 is 127.0.0.1, a loopback address." in page.get_data(
        as_text=True
    )
    assert stored_urls() == ["https://hooks.example.org/alliance"]

    del names["hooks.example.org"]  # its DNS is down: a description change does not wait on it
    renamed = client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint_id}", json={"description": "Renamed"}
    )
    assert renamed.status_code == 200
    saved = client.post(
        f"/staff/webhooks/{endpoint_id}",
        data={
            "url": "https://hooks.example.org/alliance",
            "description": "Renamed again",
            "event_types": ["proposal.submitted"],
        },
    )
    assert saved.status_code == 303


@pytest.mark.usefixtures("guard", "names", "webhook_env")
def test_the_registration_page_says_how_to_allow_a_local_receiver(notify_app):
    page = signed_in(notify_app, COORDINATOR).get("/staff/webhooks").get_data(as_text=True)
    help_text = page.partition("Register an endpoint")[2]
    assert "WEBHOOK_ALLOWED_HOSTS=127.0.0.1" in help_text
    assert "never in production" in help_text


REVIEW_AND_CHANGE_TYPES = {
    "report.accepted": "A report was accepted",
    "report.revision_requested": "A revision of a report was requested",
    "alliance.renewed": "An alliance was renewed for a new term",
    "alliance.concluded": "An alliance was concluded",
    "alliance.terminated": "An alliance was terminated with 30 days' notice",
}


@pytest.mark.usefixtures("guard", "names", "webhook_env")
def test_the_pages_and_the_api_offer_the_review_and_alliance_change_events_by_label(notify_app):
    client = signed_in(notify_app, COORDINATOR)
    page = client.get("/staff/webhooks").get_data(as_text=True)
    for event_type, label in REVIEW_AND_CHANGE_TYPES.items():
        assert f'value="{event_type}"' in page
        assert escape(label) in page

    made = client.post(
        "/staff/webhooks",
        data={"url": "https://hooks.example.org/page", "event_types": ["report.accepted"]},
    )
    assert made.status_code == 201
    listed = client.get("/staff/webhooks").get_data(as_text=True)
    assert "report.accepted" in listed

    api = client.post(
        "/api/v1/webhooks/endpoints",
        json={
            "url": "https://hooks.example.org/api",
            "event_types": list(reversed(REVIEW_AND_CHANGE_TYPES)),
        },
    )
    assert api.status_code == 201
    assert api.get_json()["event_types"] == [
        "alliance.renewed",
        "alliance.concluded",
        "alliance.terminated",
        "report.accepted",
        "report.revision_requested",
    ]
