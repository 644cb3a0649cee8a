"""Notify's staff API: held decision messages, previewed, edited, released, held, resent.

Notify's staff rules (services/notify/log/domain.py), including a mistake once made: a
reviewer who declared a conflict of interest could still list, read and edit the held messages
about that organization's proposal in notify. Conflicts reach notify as review's
``staff.conflict_declared`` event, consumed by ``notify.conflict_declared``.

What waits and where the public goes: the staff navigation's "Messages" asks notify how many
held messages wait for the person's release (``GET /api/v1/held/waiting``, within what they may
read, none for a liaison), the decisions page says after a release that the e-mails are held in
Messages, and the public directory is linked from every page's footer, the proposal form and
the staff navigation.

The message log's API lists messages in the order of the log page (newest first by the
time shown, ties by id), as its OpenAPI description says; and the Coordinator's operational
alerts (a message that could not be delivered, a webhook endpoint disabled) go to each known
active Coordinator by name, to COORDINATOR_EMAIL only while notify knows none.

The message log in notify's staff pages (``/staff/log``, ``/staff/log/<id>``) and in its API
(``GET /api/v1/messages``): every message with its recipient, status, attempts, the server's
last answer and both parts; filters by reference, recipient and status; pages; resend with a
confirmation; and who sees what (any staff member, never a partner they are in conflict with).

The message log's search: ``q`` on ``/staff/log`` and ``GET /api/v1/messages``
finds part of a reference (``ap-2026-1``, ``2026-0001``), part of a subject, or part of the
partner organization's name (kept folded in ``organization_key``), case aside; the
exact-reference filter stays as it was. A search never reaches past what the person may read
(a liaison searching another alliance's partner finds nothing), and ``%`` and ``_`` are taken
literally."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from werkzeug.test import Client

from deploy.gateway import create_gateway
from services.notify import create_app as create_notify
from services.notify.log import domain
from services.notify.messages import domain as messages
from services.notify.models import Message
from services.notify.tasks import conflict_declared
from services.notify.worker import database
from shared.db import utcnow
from shared.staff_auth import COOKIE_NAME
from tests.helpers import queued_tasks, stored_rows
from tests.notify.factories import held_decision_message
from tests.notify.log.helpers import (
    BAKERS,
    COLLEAGUE,
    CORA,
    LEE,
    REFUSED_550,
    REVIEWER_NOTIFY_CONFLICTS,
    a_held_decision,
    a_sent_message,
    copies_of,
)
from tests.notify.log.test_views import ROOFERS_KEY, a_message, follows, log_links, page_of
from tests.review.factories import conflict_declared_event, staff_member
from tests.shared.factories import COORDINATOR, REVIEWER, ROOFERS, acting, signed_in, staff_session

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("clean_databases")
def test_staff_see_preview_edit_and_release_held_messages(notify_app, redis_client):
    message_id = held_decision_message().id
    client = signed_in(notify_app, COORDINATOR)

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


@pytest.mark.usefixtures("clean_databases")
def test_released_but_unsent_messages_can_be_held_again(notify_app):
    first, second = held_decision_message().id, held_decision_message().id
    client = signed_in(notify_app, REVIEWER)
    client.post("/api/v1/held/release", json={"message_ids": [str(first), str(second)]})
    assert client.post("/api/v1/held/hold", json={"message_ids": [str(first)]}).get_json() == {
        "held": 1
    }
    assert [m["id"] for m in client.get("/api/v1/held").get_json()["messages"]] == [str(first)]


@pytest.mark.usefixtures("clean_databases")
def test_a_sent_message_can_be_resent_and_failures_say_why(notify_app, redis_client):
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
    client = signed_in(notify_app, COORDINATOR)

    log = client.get(f"/api/v1/messages?proposal_id={proposal_id}").get_json()["messages"]
    assert log[0]["last_error"] == "SMTPRecipientsRefused: 550 no such user"
    copy = client.post(f"/api/v1/messages/{message_id}/resend")
    assert copy.status_code == 201
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": copy.get_json()["id"]})
    ]


@pytest.mark.usefixtures("clean_databases")
def test_access_is_by_role(notify_app, redis_client):
    message_id = held_decision_message().id
    assert notify_app.test_client().get("/api/v1/held").status_code == 401
    liaison = signed_in(notify_app, LEE)
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


@pytest.mark.usefixtures("clean_databases")
def test_bad_input_is_a_clear_4xx(notify_app):
    client = signed_in(notify_app, COORDINATOR)
    assert client.post("/api/v1/held/release", json={"message_ids": []}).status_code == 422
    assert client.get(f"/api/v1/messages/{uuid.uuid4()}").status_code == 404
    sent = held_decision_message().id
    client.post("/api/v1/held/release", json={"message_ids": [str(sent)]})
    response = client.put(f"/api/v1/messages/{sent}", json={"subject": "x", "text_body": "y"})
    assert response.status_code == 409
    assert response.get_json()["errors"]["_request"] == ["Only a held message can be edited."]


@pytest.mark.usefixtures("clean_databases")
def test_failed_messages_are_listed_by_status(notify_app):
    failed = a_sent_message(
        status="failed", attempts=13, last_error="ConnectionRefusedError: refused"
    )
    a_sent_message()
    client = signed_in(notify_app, REVIEWER)

    [listed] = client.get("/api/v1/messages?status=failed").get_json()["messages"]

    assert (listed["id"], listed["status"], listed["attempts"]) == (str(failed), "failed", 13)
    assert (listed["ambiguous_deliveries"], listed["next_attempt_at"]) == (0, None)
    assert listed["last_error"] == "ConnectionRefusedError: refused"
    assert client.get("/api/v1/messages").status_code == 422
    assert client.get("/api/v1/messages?status=lost").status_code == 422


@pytest.mark.usefixtures("clean_databases")
def test_a_pending_message_says_when_it_is_tried_next(notify_app):
    message_id = held_decision_message().id
    client = signed_in(notify_app, COORDINATOR)
    client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})

    described = client.get(f"/api/v1/messages/{message_id}").get_json()

    assert described["status"] == "pending"
    assert datetime.fromisoformat(described["next_attempt_at"]) <= utcnow()


@pytest.mark.usefixtures("clean_databases")
def test_the_form_and_the_api_refuse_an_empty_choice_with_the_same_message(notify_app):
    held = held_decision_message().id
    client = signed_in(notify_app, REVIEWER)

    api = client.post("/api/v1/held/release", json={"message_ids": []})
    page = client.post("/staff/messages", data={})

    assert (api.status_code, api.get_json()) == (
        422,
        {"errors": {"message_ids": ["Choose at least one message."]}},
    )
    assert page.status_code == 422
    assert "Choose at least one message." in page.get_data(as_text=True)
    assert [m["id"] for m in client.get("/api/v1/held").get_json()["messages"]] == [str(held)]


IN_CONFLICT = {"errors": {"_request": [domain.IN_CONFLICT]}}


# -- builders ---------------------------------------------------------------------------------


def stored(message_id: uuid.UUID) -> tuple:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return (message.status, message.subject, message.text_body, message.edited_by,
                message.released_by)  # fmt: skip


def listed(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [message["id"] for message in response.get_json()["messages"]]


# -- the defect, through the API and the pages ------------------------------------------------


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_a_reviewer_in_conflict_neither_lists_reads_edits_nor_releases_through_the_api(
    notify_app, redis_client
):
    proposal_id, held = a_held_decision(ROOFERS)
    _, bakers_held = a_held_decision(BAKERS)
    declared = conflict_declared_event(
        REVIEWER_NOTIFY_CONFLICTS.staff_id, "MICHIGAN ROOFING CONTRACTORS ASSOCIATION."
    )
    conflict_declared(event=declared.to_message())
    client, colleague = (
        signed_in(notify_app, REVIEWER_NOTIFY_CONFLICTS),
        signed_in(notify_app, COLLEAGUE),
    )
    before = stored(held)

    assert listed(colleague.get("/api/v1/held")) == [str(held), str(bakers_held)]
    assert listed(client.get("/api/v1/held")) == [str(bakers_held)]
    assert listed(client.get(f"/api/v1/messages?proposal_id={proposal_id}")) == []
    assert listed(client.get("/api/v1/messages?status=held")) == [str(bakers_held)]
    read = client.get(f"/api/v1/messages/{held}")
    edited = client.put(
        f"/api/v1/messages/{held}", json={"subject": "Changed", "text_body": "Changed."}
    )
    released = client.post(
        "/api/v1/held/release", json={"message_ids": [str(bakers_held), str(held)]}
    )
    resent = client.post(f"/api/v1/messages/{held}/resend")

    assert [(r.status_code, r.get_json()) for r in (read, edited, released, resent)] == [
        (403, IN_CONFLICT)
    ] * 4
    assert stored(held) == before
    assert stored(bakers_held)[0] == "held"  # the refused bulk release released nothing
    assert copies_of(held) == 0
    assert ("notify.deliver_message", {"message_id": str(held)}) not in queued_tasks(
        redis_client, "notify"
    )


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_a_reviewer_in_conflict_cannot_hold_back_a_released_message_through_the_api(notify_app):
    _, held = a_held_decision(ROOFERS)
    conflict_declared(
        event=conflict_declared_event(REVIEWER_NOTIFY_CONFLICTS.staff_id).to_message()
    )
    colleague = signed_in(notify_app, COLLEAGUE)
    released = colleague.post("/api/v1/held/release", json={"message_ids": [str(held)]})
    assert released.get_json() == {"released": [str(held)]}
    client = signed_in(notify_app, REVIEWER_NOTIFY_CONFLICTS)

    answer = client.post("/api/v1/held/hold", json={"message_ids": [str(held)]})

    assert (answer.status_code, answer.get_json()) == (403, IN_CONFLICT)
    assert stored(held)[0] == "pending"


# -- the conflicts notify keeps -----------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_a_conflict_declared_in_review_reaches_notify_through_the_broker(notify_app, redis_client):
    from services.notify.tasks import celery as notify_celery
    from services.review.queue import domain as queue
    from services.review.worker import database as review_database
    from services.review.worker import outbox as review_outbox

    _, held = a_held_decision(ROOFERS)
    redis_client.delete("notify")
    with review_database.transaction() as session:
        queue.declare_conflict(
            session,
            acting=REVIEWER_NOTIFY_CONFLICTS,
            organization_name=ROOFERS,
            outbox=review_outbox,
        )
    sent = queued_tasks(redis_client, "notify")
    assert [name for name, _ in sent] == ["notify.conflict_declared"]
    for name, kwargs in sent:
        notify_celery.tasks[name](**kwargs)

    client = signed_in(notify_app, REVIEWER_NOTIFY_CONFLICTS)
    assert listed(client.get("/api/v1/held")) == []
    assert client.get(f"/api/v1/messages/{held}").status_code == 403


RILEY = acting("riley@agency.example", "reviewer", name="Riley Reviewer")
LEE_NAV_COUNT_AND_DIRECTORY_LINKS = acting("lee@agency.example", "liaison", name="Lee Liaison")


@pytest.fixture
def notify(redis_client: Any):
    return create_notify({"TESTING": True, "WTF_CSRF_ENABLED": False})


@pytest.fixture
def gateway(redis_client: Any) -> Any:
    return create_gateway()


def held(**values: Any) -> uuid.UUID:
    return a_message(1, status="held", proposal_id=uuid.uuid4(), **values)


def waiting(client: Any) -> tuple[int, Any]:
    answer = client.get("/api/v1/held/waiting")
    return answer.status_code, answer.get_json()


@pytest.mark.usefixtures("clean_databases")
def test_notify_counts_the_held_messages_each_person_may_release(notify):
    roofers = held(organization_key=ROOFERS_KEY)
    held(organization_key="great lakes bakers guild")
    a_message(2, status="held")  # about no proposal: the Coordinator's only
    a_message(3)  # sent: waits for nothing
    follows(LEE_NAV_COUNT_AND_DIRECTORY_LINKS, roofers)

    assert waiting(signed_in(notify, CORA)) == (200, {"waiting": 3})
    assert waiting(signed_in(notify, RILEY)) == (200, {"waiting": 2})
    answer = signed_in(notify, CORA).get("/api/v1/held/waiting")
    assert answer.headers["Cache-Control"] == "no-store"

    # A conflict of interest hides that partner's message from the count as from the list.
    conflicted = acting("colin@agency.example", "coordinator")
    conflict_declared(event=conflict_declared_event(conflicted.staff_id, ROOFERS).to_message())
    assert waiting(signed_in(notify, conflicted)) == (200, {"waiting": 2})

    # A liaison may not release, even their own alliance's message: no count for them.
    status, body = waiting(signed_in(notify, LEE_NAV_COUNT_AND_DIRECTORY_LINKS))
    assert status == 403
    assert "waiting" not in body
    assert waiting(notify.test_client())[0] == 401


@pytest.mark.usefixtures("clean_databases")
def test_the_count_is_documented_in_the_openapi_document(notify):
    spec = notify.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/held/waiting"]["get"]
    assert operation["summary"] == "How many decision messages wait for your release."


def client_of(gateway: Any, person: Any) -> Client:
    account = staff_member(person.email, *sorted(person.roles), name=person.name)
    client = Client(gateway)
    client.set_cookie(COOKIE_NAME, staff_session(account))
    return client


def messages_link(html: str) -> str:
    [link] = re.findall(r'<a href="/notify/staff/(?:messages|log)"[^>]*>.*?</a>', html, re.S)
    return link


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.parametrize(
    ("person", "counted"),
    [(CORA, True), (RILEY, True), (LEE_NAV_COUNT_AND_DIRECTORY_LINKS, False)],
    ids=["cora", "riley", "lee"],
)
def test_the_messages_item_asks_for_the_count_only_for_those_who_release(gateway, person, counted):
    client = client_of(gateway, person)
    for path in ("/review/staff/queue", "/notify/staff/log"):
        html = client.get(path).get_data(as_text=True)
        link = messages_link(html)
        assert ('data-waiting-url="/notify/api/v1/held/waiting"' in link) is counted, path
        assert ('class="apm-nav-count"' in link) is counted, path
        assert re.search(r'<script src="/\w+/assets/site/staff-nav\.js" defer>', html), path


def api_ids(client: Any, query: str = "") -> list[str]:
    answer = client.get(f"/api/v1/messages?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [m["id"] for m in answer.get_json()["messages"]]


@pytest.mark.usefixtures("clean_databases")
def test_the_api_lists_the_log_in_the_order_of_the_log_page(notify_app):
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
    client = signed_in(notify_app, COORDINATOR)

    page = log_links(page_of(client.get("/staff/log?reference=AP-2026-10007")))
    listed = api_ids(client, "reference=AP-2026-10007")

    expected = [str(i) for i in (letter, held, reminder, *sorted(twins), receipt)]
    assert page == expected
    assert listed == expected
    assert api_ids(client, "q=2026-10007") == expected


@pytest.mark.usefixtures("clean_databases")
def test_the_openapi_description_says_the_order(notify_app):
    spec = notify_app.test_client().get("/api/v1/openapi.json").get_json()
    described = spec["paths"]["/api/v1/messages"]["get"]["description"]
    assert "Newest first, in the order of the staff pages' log" in described
    assert "Oldest" not in described


def a_message_notify_log(minutes_ago: int = 0, **values: Any) -> uuid.UUID:
    """A message as notify records one, ``minutes_ago`` old."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    fields: dict[str, Any] = {
        "cause": f"test:{uuid.uuid4()}",
        "template": "proposal_receipt",
        "to_address": "dana@example.org",
        "subject": "We received your Alliance proposal AP-2026-10007",
        "text_body": "Dear Dana,\n\nWe received your proposal.\n",
        "html_body": "<p>Dear Dana,</p><p>We received your proposal.</p>",
        "reference": "AP-2026-10007",
        "status": "sent",
        "attempts": 1,
        "ambiguous_deliveries": 0,
        "created_at": at,
        "next_attempt_at": at,
        "sent_at": at if values.get("status", "sent") == "sent" else None,
        **values,
    }
    with database.transaction() as session:
        message = Message(**fields)
        session.add(message)
        session.flush()
        return message.id


def a_proposals_story(reference: str = "AP-2026-10007", **values: Any) -> dict[str, uuid.UUID]:
    """Receipt, decision, welcomes and the first reminder of one proposal and its alliance
    (``alliance`` is the alliance's id)."""
    proposal_id = uuid.uuid4()
    alliance_id = uuid.uuid4()
    about = {"reference": reference, **values}
    alliance = {"alliance_id": alliance_id, **about}
    return {
        "receipt": a_message_notify_log(50, proposal_id=proposal_id, **about),
        "decision": a_message_notify_log(
            40,
            proposal_id=proposal_id,
            template="decision_approved",
            subject=f"Decision on your Alliance proposal {reference}",
            **about,
        ),
        "welcome": a_message_notify_log(
            30,
            proposal_id=proposal_id,
            template="alliance_signed",
            subject=f"Your alliance is signed ({reference})",
            **alliance,
        ),
        "welcome_liaison": a_message_notify_log(
            29,
            proposal_id=proposal_id,
            template="alliance_signed_liaison",
            to_address="lee@agency.example",
            subject=f"Action required: you are the liaison ({reference})",
            **alliance,
        ),
        # Reporting's reminders name the alliance (and the reference), not the proposal.
        "reminder": a_message_notify_log(
            10,
            template="report_due_soon",
            subject=f"Action required: your quarterly report for {reference} is due",
            **alliance,
        ),
    }


# -- the API ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
def test_the_api_filters_the_log_the_same_way(notify_app):
    story = a_proposals_story()
    failed = a_message_notify_log(
        0, status="failed", to_address="x@unknown.example", last_error=REFUSED_550, reference=""
    )
    client = signed_in(notify_app, COORDINATOR)

    about = client.get("/api/v1/messages?reference=AP-2026-10007").get_json()["messages"]
    to_lee = client.get("/api/v1/messages?to=lee@").get_json()["messages"]
    failures = client.get("/api/v1/messages?status=failed").get_json()["messages"]
    nothing = client.get("/api/v1/messages")

    assert [m["id"] for m in about] == [
        str(story[name])
        for name in ("reminder", "welcome_liaison", "welcome", "decision", "receipt")
    ]
    assert [m["id"] for m in to_lee] == [str(story["welcome_liaison"])]
    assert [(m["id"], m["last_error"]) for m in failures] == [(str(failed), REFUSED_550)]
    assert failures[0]["failure_reason"].startswith(
        "The mail server refused the recipient's address permanently: 550"
    )
    assert about[-1]["failure_reason"] is None
    assert nothing.status_code == 422


@pytest.mark.usefixtures("clean_databases")
def test_the_api_documents_the_search(notify_app):
    spec = notify_app.test_client().get("/api/v1/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/messages"]["get"]["parameters"]
    [q] = [p for p in parameters if p["name"] == "q"]
    assert q["in"] == "query"
    assert "part of a reference" in q["description"]
