"""What waits and where the public goes: the staff navigation's "Messages" asks notify how many
held messages wait for the person's release (``GET /api/v1/held/waiting``, within what they may
read, none for a liaison), the decisions page says after a release that the e-mails are held in
Messages, and the public directory is linked from every page's footer, the proposal form and
the staff navigation."""

from __future__ import annotations

import re
import uuid
from html import unescape
from typing import Any

import pytest
from werkzeug.test import Client

from deploy.gateway import create_gateway
from services.notify import create_app as create_notify
from services.notify.tasks import conflict_declared
from services.review import create_app as create_review
from shared.staff_auth import COOKIE_NAME
from tests.factories import (
    ROOFERS,
    acting,
    conflict_declared_event,
    prepared_decision,
    proposal,
    queued_proposal,
    signed_in,
    staff_member,
    staff_session,
)
from tests.integration.test_notify_log import ROOFERS_KEY, a_message, follows

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

CORA = acting("cora@agency.example", "coordinator", name="Cora Coordinator")
RILEY = acting("riley@agency.example", "reviewer", name="Riley Reviewer")
LEE = acting("lee@agency.example", "liaison", name="Lee Liaison")


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


def test_notify_counts_the_held_messages_each_person_may_release(notify):
    roofers = held(organization_key=ROOFERS_KEY)
    held(organization_key="great lakes bakers guild")
    a_message(2, status="held")  # about no proposal: the Coordinator's only
    a_message(3)  # sent: waits for nothing
    follows(LEE, roofers)

    assert waiting(signed_in(notify, CORA)) == (200, {"waiting": 3})
    assert waiting(signed_in(notify, RILEY)) == (200, {"waiting": 2})
    answer = signed_in(notify, CORA).get("/api/v1/held/waiting")
    assert answer.headers["Cache-Control"] == "no-store"

    # A conflict of interest hides that partner's message from the count as from the list.
    conflicted = acting("colin@agency.example", "coordinator")
    conflict_declared(event=conflict_declared_event(conflicted.staff_id, ROOFERS).to_message())
    assert waiting(signed_in(notify, conflicted)) == (200, {"waiting": 2})

    # A liaison may not release, even their own alliance's message: no count for them.
    status, body = waiting(signed_in(notify, LEE))
    assert status == 403
    assert "waiting" not in body
    assert waiting(notify.test_client())[0] == 401


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


@pytest.mark.parametrize(
    ("person", "counted"), [(CORA, True), (RILEY, True), (LEE, False)], ids=["cora", "riley", "lee"]
)
def test_the_messages_item_asks_for_the_count_only_for_those_who_release(gateway, person, counted):
    client = client_of(gateway, person)
    for path in ("/review/staff/queue", "/notify/staff/log"):
        html = client.get(path).get_data(as_text=True)
        link = messages_link(html)
        assert ('data-waiting-url="/notify/api/v1/held/waiting"' in link) is counted, path
        assert ('class="apm-nav-count"' in link) is counted, path
        assert re.search(r'<script src="/\w+/assets/site/staff-nav\.js" defer>', html), path


def test_the_staff_navigation_links_the_public_directory(gateway):
    for person in (CORA, RILEY, LEE):
        html = client_of(gateway, person).get("/review/staff/alliances").get_data(as_text=True)
        assert re.search(
            r'<a href="/review/directory" class="usa-nav-link"><span>Public directory</span></a>',
            html,
        ), person.email


def footer_directory(html: str) -> str:
    found = re.search(r'<a class="usa-footer__primary-link" href="([^"]+)"[^>]*>([^<]+)</a>', html)
    assert found, "no link in the footer"
    return f"{unescape(found[2])} -> {unescape(found[1])}"


def test_every_public_page_links_the_directory(gateway):
    client = Client(gateway)
    for path in ("/apply", "/review/staff/sign-in", "/review/directory"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert footer_directory(html) == "Alliance directory -> /review/directory", path
    form = client.get("/apply").get_data(as_text=True)
    assert re.search(
        r'in the <a class="usa-link" href="/review/directory" id="apply-directory">'
        r"alliance directory</a>",
        form,
    )
    assert client.get("/review/directory").status_code == 200


def test_after_a_release_the_decisions_page_says_the_e_mails_wait_in_messages(gateway):
    riley = staff_member("riley@agency.example", "reviewer", name="Riley Reviewer")
    first = prepared_decision(queued_proposal(proposal("Roofers")).proposal_id)
    client = Client(gateway)
    client.set_cookie(COOKIE_NAME, staff_session(riley))
    before = client.get("/review/staff/decisions").get_data(as_text=True)
    assert "held for a last look" not in before

    released = client.post(
        "/review/staff/decisions",
        data={"decision_ids": str(first.id), "csrf_token": csrf(before)},
    )
    assert released.status_code == 303
    after = client.get("/review/staff/decisions").get_data(as_text=True)

    assert re.search(
        r'The e-mails are held for a last look in <a class="usa-link" '
        r'href="/notify/staff/messages">Messages</a>',
        after,
    )
    again = client.get("/review/staff/decisions").get_data(as_text=True)
    assert "held for a last look" not in again  # said once, after the release


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found[1]


def test_an_app_served_on_its_own_asks_only_itself_for_the_count(notify, redis_client):
    review = create_review({"TESTING": True})
    alone = signed_in(review, CORA).get("/staff/queue").get_data(as_text=True)
    assert "data-waiting-url" not in messages_link(alone)
    own = signed_in(notify, CORA).get("/staff/log").get_data(as_text=True)
    [link] = re.findall(r'<a href="/staff/messages"[^>]*>', own)
    assert 'data-waiting-url="/api/v1/held/waiting"' in link
