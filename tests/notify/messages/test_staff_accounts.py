"""The invitation and the "Forgot your password?" e-mail, through notify's real consumer
(``notify.staff_password_link``, services/notify/messages/staff_accounts.py).

The link in them is a bearer credential: it goes to the person only, by e-mail. The message
log, a message's page, its HTML frame and the API never show it, to anyone, the Coordinator
included (services/notify/messages/links.py), and no webhook carries the event."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.notify import create_app as notify_app
from services.notify.log import domain as notify_domain
from services.notify.messages import links
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.review.models import OutboxEvent
from services.review.staff import domain as accounts
from services.review.worker import database as review_database
from shared.config import load_settings
from shared.events import SUBSCRIPTIONS, WEBHOOK_EVENT_TYPES, new_event
from tests.helpers import queued_tasks
from tests.review.factories import acting_as, staff_member
from tests.shared.factories import acting, signed_in
from tests.smtp import text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

COORDINATOR = acting("cora@agency.example", "coordinator", name="Cora Coordinator")
REVIEWER = acting("riley@agency.example", "reviewer", name="Riley Reviewer")
SET_PASSWORD = re.compile(r"/staff/set-password/[A-Za-z0-9_\-]+")


def review_events() -> list[dict[str, Any]]:
    with review_database.transaction() as session:
        return list(
            session.scalars(
                select(OutboxEvent.message)
                .where(OutboxEvent.type == "staff.password_link")
                .order_by(OutboxEvent.id)
            )
        )


def consume(message: dict[str, Any]) -> None:
    """Notify's consumer of the event, as its worker runs it."""
    services.notify.tasks.celery.tasks["notify.staff_password_link"](event=message)


def stored() -> list[Message]:
    with notify_database.transaction() as session:
        found = list(session.scalars(select(Message).order_by(Message.created_at)))
        for message in found:
            session.expunge(message)
        return found


def invite_lee() -> dict[str, Any]:
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    with review_database.transaction() as session:
        accounts.invite_staff(
            session,
            acting=acting_as(cora),
            email="lee@agency.example",
            name="Lee Liaison",
            roles=["liaison", "reviewer"],
            settings=load_settings(),
        )
    [message] = review_events()
    return message


def deliver(redis_client: Any, smtp_server: Any, monkeypatch: Any) -> None:
    """Run the deliveries notify queued (other tasks in its queue stay out of it)."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server.port))
    queued = queued_tasks(redis_client, "notify")
    redis_client.delete("notify")
    for name, kwargs in queued:
        if name == "notify.deliver_message":
            services.notify.tasks.deliver_message(**kwargs)


def link_in(html: str) -> tuple[str, str]:
    [(href, words)] = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', html)
    return href, words


def test_the_invitation_goes_to_the_person_with_a_set_your_password_link(
    redis_client, smtp_server, monkeypatch
):
    event = invite_lee()
    url = event["payload"]["set_password_url"]
    consume(event)
    consume(event)  # a redelivered event records nothing more
    [message] = stored()
    assert (message.template, message.to_address, message.recipient) == (
        "staff_invitation",
        "lee@agency.example",
        "staff",
    )
    assert message.proposal_id is None
    assert message.alliance_id is None
    agency = load_settings().agency.name
    assert message.subject == f"Set your password for the {agency} Alliance Program"
    assert link_in(message.html_body) == (url, "Set your password")
    assert message.text_body.startswith("Dear Lee Liaison,")
    assert "Cora Coordinator created a staff account for you" in message.text_body
    assert "as Reviewer and Liaison" in message.text_body
    assert f"Set your password:\n{url}\n" in message.text_body
    # The expiry, in the agency's zone, named.
    expires = datetime.fromisoformat(event["payload"]["expires_at"])
    local = expires.astimezone(load_settings().agency_timezone)
    when = local.strftime("%B %-d, %Y at %-I:%M %p %Z")
    assert local.strftime("%Z") in ("EST", "EDT")
    assert f"The link works once, until {when}." in message.text_body
    assert f"until {when}" in message.html_body

    # The e-mail itself carries the link, to the person only.
    deliver(redis_client, smtp_server, monkeypatch)
    [mail] = smtp_server.inbox.wait_for(lambda m: "Set your password" in str(m["Subject"]))
    assert mail["To"] == "lee@agency.example"
    assert url in text_of(mail).replace("\r\n", "\n")


def test_the_reset_e_mail_says_who_asked_and_links_the_same_way():
    staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    with review_database.transaction() as session:
        accounts.request_password_reset(
            session, email="cora@agency.example", settings=load_settings()
        )
    [event] = review_events()
    consume(event)
    [message] = stored()
    assert (message.template, message.to_address) == ("staff_password_reset", "cora@agency.example")
    agency = load_settings().agency.name
    assert message.subject == f"Set a new password for the {agency} Alliance Program"
    assert link_in(message.html_body) == (
        event["payload"]["set_password_url"],
        "Set your password",
    )
    assert "Someone, probably you, asked to set a new password" in message.text_body
    assert "your password stays as it is" in message.text_body


def test_nobody_sees_the_link_in_the_message_log_not_even_the_coordinator(redis_client):
    event = invite_lee()
    url = event["payload"]["set_password_url"]
    consume(event)
    [message] = stored()
    assert url in message.text_body  # kept for the e-mail
    assert url in message.html_body

    with notify_database.transaction() as session:
        shown = notify_domain.get_message(session, COORDINATOR, message.id)
        assert SET_PASSWORD.search(shown.text_body) is None
        assert SET_PASSWORD.search(shown.html_body) is None
        assert links.HIDDEN_STAFF in shown.text_body
        assert "<span>Set your password</span>" in shown.html_body
        # Mail about no proposal: the Coordinator's only.
        assert notify_domain.log_page(session, REVIEWER).messages == []

    app = notify_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = signed_in(app, COORDINATOR)
    page = client.get(f"/staff/log/{message.id}")
    assert page.status_code == 200
    everything = page.get_data(as_text=True)
    frame = re.search(r'<iframe[^>]*\ssrc="([^"]+)"', everything)
    if frame:
        everything += client.get(frame[1].replace("&amp;", "&")).get_data(as_text=True)
    everything += str(client.get(f"/api/v1/messages/{message.id}").get_json())
    everything += str(client.get("/api/v1/messages").get_json())
    everything += client.get("/staff/log").get_data(as_text=True)
    token = url.rsplit("/", 1)[1]
    assert token not in everything
    assert SET_PASSWORD.search(everything) is None
    assert "personal link to set a password, hidden" in everything
    reviewer = signed_in(app, REVIEWER)
    assert reviewer.get(f"/staff/log/{message.id}").status_code == 403


def test_no_webhook_carries_the_event():
    assert "staff.password_link" not in WEBHOOK_EVENT_TYPES
    assert SUBSCRIPTIONS["staff.password_link"] == ("notify.staff_password_link",)
    # And a webhook's data would drop it anyway: a link field.
    event = new_event(
        "staff.password_link",
        producer="review",
        payload={
            "staff_id": uuid.uuid4(),
            "kind": "reset",
            "name": "Lee Liaison",
            "email": "lee@agency.example",
            "set_password_url": "https://alliances.agency.example/review/staff/set-password/x",
            "expires_at": datetime.now(UTC) + timedelta(hours=1),
        },
    )
    assert "set_password_url" not in links.without_signed_fields(event.to_message()["payload"])
