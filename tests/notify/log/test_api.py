"""Notify's staff API: held decision messages, previewed, edited, released, held, resent."""

import re
import uuid
from datetime import datetime

import pytest
from sqlalchemy import select, update

from services.notify import create_app
from services.notify.messages import domain as messages
from services.notify.models import Message
from services.notify.worker import database
from shared.db import utcnow
from tests.factories import (
    COORDINATOR,
    LIAISON,
    REVIEWER,
    acting_as,
    held_decision_message,
    signed_in,
)
from tests.helpers import queued_tasks, stored_rows

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

LEE = acting_as(LIAISON)


@pytest.fixture
def app(redis_client):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def test_staff_see_preview_edit_and_release_held_messages(app, redis_client):
    message_id = held_decision_message().id
    client = signed_in(app, COORDINATOR)

    [listed] = client.get("/api/v1/held").get_json()["messages"]
    assert (listed["id"], listed["status"]) == (str(message_id), "held")
    preview = client.get(f"/api/v1/messages/{message_id}").get_json()
    assert "Not this year." in preview["text_body"]

    edited = client.put(
        f"/api/v1/messages/{message_id}",
        json={
            "subject": "Your proposal AP-2026-00009",
            "text_body": "Dear Dana,\n\nNot this year, sorry.",
        },
    )
    assert edited.get_json()["edited_by"] == "cora@agency.example"
    assert redis_client.llen("notify") == 0  # held: nothing goes out

    released = client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})
    assert released.get_json() == {"released": [str(message_id)]}
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": str(message_id)})
    ]
    assert client.get("/api/v1/held").get_json()["messages"] == []


def test_released_but_unsent_messages_can_be_held_again(app):
    first, second = held_decision_message().id, held_decision_message().id
    client = signed_in(app, REVIEWER)
    client.post("/api/v1/held/release", json={"message_ids": [str(first), str(second)]})
    assert client.post("/api/v1/held/hold", json={"message_ids": [str(first)]}).get_json() == {
        "held": 1
    }
    assert [m["id"] for m in client.get("/api/v1/held").get_json()["messages"]] == [str(first)]


def test_a_sent_message_can_be_resent_and_failures_say_why(app, redis_client):
    proposal_id = uuid.uuid4()
    message_id = held_decision_message(proposal_id).id
    with database.transaction() as session:
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                status="failed", attempts=8, last_error="SMTPRecipientsRefused: 550 no such user"
            )
        )
    client = signed_in(app, COORDINATOR)

    log = client.get(f"/api/v1/messages?proposal_id={proposal_id}").get_json()["messages"]
    assert log[0]["last_error"] == "SMTPRecipientsRefused: 550 no such user"
    copy = client.post(f"/api/v1/messages/{message_id}/resend")
    assert copy.status_code == 201
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": copy.get_json()["id"]})
    ]


def test_access_is_by_role(app, redis_client):
    message_id = held_decision_message().id
    assert app.test_client().get("/api/v1/held").status_code == 401
    liaison = signed_in(app, LEE)
    assert liaison.get("/api/v1/held").status_code == 403
    before = stored_rows(database)
    assert (
        liaison.post("/api/v1/held/release", json={"message_ids": [str(message_id)]}).status_code
        == 403
    )
    assert stored_rows(database) == before  # still held
    assert queued_tasks(redis_client, "notify") == []  # nothing sent
    # A liaison reads the messages of their own alliances' proposals only.
    assert liaison.get(f"/api/v1/messages/{message_id}").status_code == 403
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        messages.record_liaison(
            session,
            {
                "alliance_id": uuid.uuid4(),
                "proposal_id": message.proposal_id,
                "liaison": {"id": LEE.staff_id, "name": LEE.name, "email": LEE.email},
            },
        )
    assert liaison.get(f"/api/v1/messages/{message_id}").status_code == 200


def test_bad_input_is_a_clear_4xx(app):
    client = signed_in(app, COORDINATOR)
    assert client.post("/api/v1/held/release", json={"message_ids": []}).status_code == 422
    assert client.get(f"/api/v1/messages/{uuid.uuid4()}").status_code == 404
    sent = held_decision_message().id
    client.post("/api/v1/held/release", json={"message_ids": [str(sent)]})
    response = client.put(f"/api/v1/messages/{sent}", json={"subject": "x", "text_body": "y"})
    assert response.status_code == 409
    assert response.get_json()["errors"]["_request"] == ["Only a held message can be edited."]


def test_held_messages_page_edits_and_releases(app, redis_client):
    message_id = held_decision_message().id
    client = signed_in(app, COORDINATOR)
    listing = client.get("/staff/messages").get_data(as_text=True)
    assert "Decision on your Alliance proposal AP-2026-00009" in listing

    saved = client.post(
        f"/staff/messages/{message_id}",
        data={
            "subject": "Decision on AP-2026-00009",
            "text_body": "Dear Dana,\n\nNot this year.",
            "action": "release",
        },
    )
    assert saved.status_code == 303
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": str(message_id)})
    ]
    page = client.get(f"/staff/messages/{message_id}").get_data(as_text=True)
    assert "Saved and released." in page
    assert "Hold it back" in page


def test_held_messages_page_needs_a_sign_in_and_a_role(app):
    anonymous = app.test_client().get("/staff/messages")
    assert anonymous.status_code == 303
    assert "/review/staff/sign-in?next=" in anonymous.headers["Location"]
    assert signed_in(app, LEE).get("/staff/messages").status_code == 403


def test_an_empty_message_is_refused_inline(app):
    message_id = held_decision_message().id
    client = signed_in(app, REVIEWER)
    response = client.post(
        f"/staff/messages/{message_id}", data={"subject": "x", "text_body": "  ", "action": "save"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#text-body">Message: Write the message.</a>' in page
    assert 'aria-invalid="true"' not in page.split('id="text-body"')[0]  # the subject was fine


def a_sent_message(**values) -> uuid.UUID:
    message_id = held_decision_message().id
    with database.transaction() as session:
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(**{"status": "sent", "attempts": 1, "sent_at": utcnow(), **values})
        )
    return message_id


def test_failed_messages_are_listed_by_status(app):
    failed = a_sent_message(
        status="failed", attempts=13, last_error="ConnectionRefusedError: refused"
    )
    a_sent_message()
    client = signed_in(app, REVIEWER)

    [listed] = client.get("/api/v1/messages?status=failed").get_json()["messages"]

    assert (listed["id"], listed["status"], listed["attempts"]) == (str(failed), "failed", 13)
    assert (listed["ambiguous_deliveries"], listed["next_attempt_at"]) == (0, None)
    assert listed["last_error"] == "ConnectionRefusedError: refused"
    assert client.get("/api/v1/messages").status_code == 422
    assert client.get("/api/v1/messages?status=lost").status_code == 422


def test_a_pending_message_says_when_it_is_tried_next(app):
    message_id = held_decision_message().id
    client = signed_in(app, COORDINATOR)
    client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})

    described = client.get(f"/api/v1/messages/{message_id}").get_json()

    assert described["status"] == "pending"
    assert datetime.fromisoformat(described["next_attempt_at"]) <= utcnow()


def test_the_coordinator_sees_failed_and_uncertain_deliveries_and_resends_one(app, redis_client):
    failed = a_sent_message(
        status="failed",
        attempts=1,
        last_error="SMTPRecipientsRefused: 550 5.1.1 <dana@example.org>: User unknown",
    )
    uncertain = a_sent_message(subject="Twice, perhaps", ambiguous_deliveries=1)
    a_sent_message(subject="Went out fine")
    client = signed_in(app, COORDINATOR)

    held_page = client.get("/staff/messages").get_data(as_text=True)
    assert 'href="/staff/deliveries"' in held_page
    page = client.get("/staff/deliveries")
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert "<caption>Failed and uncertain deliveries, newest first</caption>" in html
    assert "SMTPRecipientsRefused: 550 5.1.1 &lt;dana@example.org&gt;: User unknown" in html
    assert "Twice, perhaps" in html
    assert "Went out fine" not in html
    assert html.count('<th scope="row" data-label="Recipient">dana@example.org</th>') == 2
    assert f'action="/staff/deliveries/{failed}/resend"' in html
    assert f'action="/staff/deliveries/{uncertain}/resend"' in html

    resent = client.post(f"/staff/deliveries/{failed}/resend")

    assert resent.status_code == 303
    with database.transaction() as session:
        [copy] = session.scalars(
            select(Message).where(Message.cause.like(f"resend:{failed}:%"))
        ).all()
        assert (copy.status, copy.attempts, copy.released_by) == (
            "pending",
            0,
            "cora@agency.example",
        )
        assert copy.next_attempt_at <= utcnow()
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": str(copy.id)})
    ]
    assert "A new copy of" in client.get("/staff/deliveries").get_data(as_text=True)


def test_the_deliveries_page_is_for_the_coordinator_and_its_form_needs_the_csrf_token(
    redis_client,
):
    app = create_app({"TESTING": True})
    failed = a_sent_message(status="failed")
    reviewer = signed_in(app, REVIEWER)
    assert reviewer.get("/staff/deliveries").status_code == 403
    assert 'href="/staff/deliveries"' not in reviewer.get("/staff/messages").get_data(as_text=True)
    client = signed_in(app, COORDINATOR)
    page = client.get("/staff/deliveries").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]

    assert client.post(f"/staff/deliveries/{failed}/resend").status_code == 400
    answer = client.post(f"/staff/deliveries/{failed}/resend", data={"csrf_token": token})

    assert answer.status_code == 303
    with database.transaction() as session:
        copies = session.scalars(
            select(Message.id).where(Message.cause.like(f"resend:{failed}:%"))
        ).all()
        assert len(copies) == 1


def test_the_form_and_the_api_refuse_an_empty_choice_with_the_same_message(app):
    held = held_decision_message().id
    client = signed_in(app, REVIEWER)

    api = client.post("/api/v1/held/release", json={"message_ids": []})
    page = client.post("/staff/messages", data={})

    assert (api.status_code, api.get_json()) == (
        422,
        {"errors": {"message_ids": ["Choose at least one message."]}},
    )
    assert page.status_code == 422
    assert "Choose at least one message." in page.get_data(as_text=True)
    assert [m["id"] for m in client.get("/api/v1/held").get_json()["messages"]] == [str(held)]


def test_a_nul_in_the_edit_form_is_shown_beside_the_field_and_nothing_is_stored(app):
    message_id = held_decision_message().id
    client = signed_in(app, REVIEWER)

    page = client.post(
        f"/staff/messages/{message_id}",
        data={"subject": "Decision\x00", "text_body": "Dear Dana,", "action": "save"},
    )
    api = client.put(
        f"/api/v1/messages/{message_id}", json={"subject": "Decision\x00", "text_body": "Dear"}
    )

    assert (page.status_code, api.status_code) == (422, 422)
    [message] = api.get_json()["errors"]["subject"]
    assert message.startswith("Remove the control character U+0000")
    assert f'href="#subject">Subject: {message}</a>' in page.get_data(as_text=True)
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert (message.subject, message.edited_by) == (
            "Decision on your Alliance proposal AP-2026-00009",
            None,
        )
