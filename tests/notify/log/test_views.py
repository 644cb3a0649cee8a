"""The message log in notify's staff pages (``/staff/log``, ``/staff/log/<id>``) and in its API
(``GET /api/v1/messages``): every message with its recipient, status, attempts, the server's
last answer and both parts; filters by reference, recipient and status; pages; resend with a
confirmation; and who sees what (any staff member, never a partner they are in conflict with).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from services.notify import create_app
from services.notify.log import domain
from services.notify.messages import domain as messages
from services.notify.models import Message
from services.notify.tasks import conflict_declared
from services.notify.worker import database
from shared.db import utcnow
from shared.security_headers import SANDBOXED_POLICY
from tests.factories import (
    COORDINATOR,
    LIAISON,
    REVIEWER,
    ROOFERS,
    acting,
    acting_as,
    conflict_declared_event,
    held_decision_message,
    signed_in,
)
from tests.helpers import queued_tasks

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

LEE = acting_as(LIAISON)
ROOFERS_KEY = "michigan roofing contractors association"
REFUSED_550 = (
    "SMTPRecipientsRefused: 550 5.1.1 <nobody@unknown.example>: Recipient address rejected"
)


@pytest.fixture
def app(redis_client: Any):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


def a_message(minutes_ago: int = 0, **values: Any) -> uuid.UUID:
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
        "receipt": a_message(50, proposal_id=proposal_id, **about),
        "decision": a_message(
            40,
            proposal_id=proposal_id,
            template="decision_approved",
            subject=f"Decision on your Alliance proposal {reference}",
            **about,
        ),
        "welcome": a_message(
            30,
            proposal_id=proposal_id,
            template="alliance_signed",
            subject=f"Your alliance is signed ({reference})",
            **alliance,
        ),
        "welcome_liaison": a_message(
            29,
            proposal_id=proposal_id,
            template="alliance_signed_liaison",
            to_address="lee@agency.example",
            subject=f"Action required: you are the liaison ({reference})",
            **alliance,
        ),
        # Reporting's reminders name the alliance (and the reference), not the proposal.
        "reminder": a_message(
            10,
            template="report_due_soon",
            subject=f"Action required: your quarterly report for {reference} is due",
            **alliance,
        ),
    }


def follows(liaison: Any, message_id: uuid.UUID) -> None:
    """``liaison`` is the liaison of the alliance (and proposal) ``message_id`` is about, as
    notify learns it from the events that name the liaison."""
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        messages.record_liaison(
            session,
            {
                "alliance_id": message.alliance_id or uuid.uuid4(),
                "proposal_id": message.proposal_id,
                "liaison": {"id": liaison.staff_id, "name": liaison.name, "email": liaison.email},
            },
        )


def page_of(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def log_links(page: str) -> list[str]:
    """The messages the log page lists, in order (the ids its rows link to)."""
    return re.findall(r'href="/staff/log/([0-9a-f-]{36})"', page)


# -- the log page -------------------------------------------------------------------------------


def test_the_log_filtered_by_reference_tells_one_proposals_story_newest_first(app):
    story = a_proposals_story()
    other = a_message(5, reference="AP-2026-10008", subject="About another proposal")
    client = signed_in(app, COORDINATOR)

    page = page_of(client.get("/staff/log?reference=ap-2026-10007"))

    assert "<h1>Messages about AP-2026-10007</h1>" in page
    assert log_links(page) == [
        str(story[name])
        for name in ("reminder", "welcome_liaison", "welcome", "decision", "receipt")
    ]
    assert str(other) not in page
    assert "Showing messages 1 to 5 of 5." in page
    everything = page_of(client.get("/staff/log"))
    assert log_links(everything)[0] == str(other)
    assert len(log_links(everything)) == 6


def test_the_log_filters_by_recipient_and_status_and_says_why_a_message_failed(app):
    story = a_proposals_story()
    failed = a_message(
        1,
        to_address="nobody@unknown.example",
        status="failed",
        attempts=1,
        last_error=REFUSED_550,
        proposal_id=uuid.uuid4(),
    )
    client = signed_in(app, REVIEWER)

    to_lee = page_of(client.get("/staff/log?to=LEE@agency"))
    failures = page_of(client.get("/staff/log?status=failed"))
    both = page_of(client.get("/staff/log?status=sent&to=lee%40agency.example"))

    assert log_links(to_lee) == [str(story["welcome_liaison"])]
    assert log_links(failures) == [str(failed)]
    assert (
        "The mail server refused the recipient&#39;s address permanently: 550 5.1.1 "
        "&lt;nobody@unknown.example&gt;: Recipient address rejected"
    ) in failures
    assert log_links(both) == [str(story["welcome_liaison"])]
    assert page_of(client.get("/staff/log?to=100%25")).count("No message matches") == 1


def test_a_bad_filter_is_said_beside_its_field(app):
    a_message()
    client = signed_in(app, COORDINATOR)
    answer = client.get("/staff/log?status=lost")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "Choose a status from the list, or any status." in text
    assert 'href="#status"' in text


def test_the_log_comes_in_pages_and_keeps_its_filters_across_them(app):
    for minutes in range(domain.LOG_PAGE_SIZE + 3):
        a_message(minutes, subject=f"Reminder {minutes}", status="pending", attempts=0)
    a_message(0, status="sent", reference="AP-2026-10009")
    client = signed_in(app, COORDINATOR)

    first = page_of(client.get("/staff/log?status=pending"))
    second = page_of(client.get("/staff/log?status=pending&page=2"))
    beyond = page_of(client.get("/staff/log?status=pending&page=9"))

    assert len(log_links(first)) == domain.LOG_PAGE_SIZE
    assert "Showing messages 1 to 50 of 53." in first
    assert 'href="/staff/log?page=2&amp;status=pending"' in first
    assert len(log_links(second)) == 3
    assert "Showing messages 51 to 53 of 53." in second
    assert 'aria-current="page">2</a>' in second
    assert set(log_links(first)).isdisjoint(log_links(second))
    assert log_links(beyond) == log_links(second)  # past the last page: the last


def test_any_staff_member_reads_the_log_but_the_conflicted_sees_nothing_of_that_partner(app):
    roofers = a_proposals_story("AP-2026-10007", organization_key=ROOFERS_KEY)
    bakers = a_proposals_story("AP-2026-10008", organization_key="great lakes bakers guild")
    # A message of the proposal whose own event named no organization hides with the others.
    unnamed = a_message(
        0, proposal_id=_proposal_of(roofers["receipt"]), reference="", organization_key=""
    )
    conflicted = acting("conflicted@agency.example", "coordinator")
    conflict_declared(event=conflict_declared_event(conflicted.staff_id, ROOFERS).to_message())

    follows(LEE, roofers["welcome"])
    for person in (COORDINATOR, REVIEWER):
        page = page_of(signed_in(app, person).get("/staff/log"))
        assert len(log_links(page)) == 11, person.email
    # The liaison of the Roofers' alliance: its five, and the one of its proposal.
    lees = page_of(signed_in(app, LEE).get("/staff/log"))
    assert sorted(log_links(lees)) == sorted(str(i) for i in [*roofers.values(), unnamed])
    client = signed_in(app, conflicted)
    everything = page_of(client.get("/staff/log"))
    about_roofers = page_of(client.get("/staff/log?reference=AP-2026-10007"))
    api = client.get("/api/v1/messages?reference=AP-2026-10007")
    one = client.get(f"/staff/log/{roofers['receipt']}", headers={"Accept": "text/html"})
    resend = client.post(f"/staff/log/{roofers['receipt']}/resend")

    assert sorted(log_links(everything)) == sorted(str(i) for i in bakers.values())
    assert str(unnamed) not in everything
    assert log_links(about_roofers) == []
    assert (api.status_code, api.get_json()) == (200, {"messages": []})
    assert (one.status_code, resend.status_code) == (403, 403)
    assert domain.IN_CONFLICT in one.get_data(as_text=True)
    assert _copies_of(roofers["receipt"]) == 0


def test_the_log_needs_a_sign_in_and_a_staff_role(app):
    anonymous = app.test_client().get("/staff/log")
    assert anonymous.status_code == 303
    assert "/review/staff/sign-in?next=" in anonymous.headers["Location"]
    nobody = signed_in(app, acting("nobody@agency.example"))
    assert nobody.get("/staff/log").status_code == 403


# -- a message's page ---------------------------------------------------------------------------


def test_a_messages_page_shows_its_delivery_and_both_parts(app):
    message_id = a_message(
        status="failed",
        attempts=3,
        to_address="nobody@unknown.example",
        last_error=REFUSED_550,
        html_body="<p>Dear Dana,</p><p>Your proposal <strong>AP-2026-10007</strong>.</p>",
        proposal_id=uuid.uuid4(),
        alliance_id=uuid.uuid4(),
    )
    follows(LEE, message_id)
    page = page_of(signed_in(app, LEE).get(f"/staff/log/{message_id}"))

    assert "<h1>We received your Alliance proposal AP-2026-10007</h1>" in page
    assert "This message was not delivered" in page
    assert "The mail server refused the recipient&#39;s address permanently: 550 5.1.1" in page
    assert "nobody@unknown.example" in page
    assert re.search(r"Attempts</dt><dd[^>]*>3</dd>", page)
    assert "Dear Dana,\n\nWe received your proposal." in page
    assert 'href="/staff/log?reference=AP-2026-10007"' in page
    assert "Resend a copy" not in page  # a liaison does not resend


def test_the_html_part_cannot_run_a_script(app):
    hostile = (
        '<p>Hello</p><script>alert("x")</script>'
        '<img src=x onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
        '"></iframe><script>alert(3)</script>'
    )
    message_id = a_message(html_body=hostile, subject='<script>alert("s")</script>')
    client = signed_in(app, COORDINATOR)
    page = page_of(client.get(f"/staff/log/{message_id}"))
    tags = Tags()
    tags.feed(page)

    # The part is shown in a sandboxed frame (no scripts, forms or same origin), whole, from
    # an address of its own whose policy runs no script either (shared/security_headers.py)...
    [frame] = [attrs for tag, attrs in tags.found if tag == "iframe"]
    assert frame["sandbox"] == ""
    part = client.get(frame["src"])
    assert page_of(part) == hostile
    assert part.headers["Content-Security-Policy"] == SANDBOXED_POLICY
    # ...and as source, escaped: as text in the page, never as its markup.
    assert hostile in tags.text
    assert '<script>alert("s")</script>' in tags.text
    scripts = [attrs for tag, attrs in tags.found if tag == "script"]
    assert scripts
    # Only the pages' own script files (USWDS, the staff navigation's), none written inline.
    assert all(a.get("src", "").startswith(("/assets/uswds/", "/assets/site/")) for a in scripts)
    assert [
        (tag, name) for tag, attrs in tags.found for name in attrs if name.startswith("on")
    ] == []
    assert [a for _, a in tags.found if (a.get("href") or "").startswith("javascript:")] == []
    assert [a for tag, a in tags.found if tag == "img" and a.get("src") == "x"] == []


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data: str) -> None:
        self.text += data


def test_a_resend_asks_first_then_makes_a_copy_and_says_so(app, redis_client):
    original = a_message(
        status="failed", attempts=13, last_error=REFUSED_550, proposal_id=uuid.uuid4()
    )
    client = signed_in(app, REVIEWER)

    page = page_of(client.get(f"/staff/log/{original}"))
    asked = page_of(client.get(f"/staff/log/{original}/resend"))
    assert f'href="/staff/log/{original}/resend"' in page
    assert _copies_of(original) == 0  # asking sends nothing
    assert "Resend “We received your Alliance proposal AP-2026-10007”?" in asked
    assert "Yes, send a new copy" in asked

    sent = client.post(f"/staff/log/{original}/resend")
    assert sent.status_code == 303
    [copy] = _copies(original)
    assert sent.headers["Location"].endswith(f"/staff/log/{copy.id}")
    assert (copy.status, copy.to_address, copy.released_by) == (
        "pending",
        "dana@example.org",
        "riley@agency.example",
    )
    assert queued_tasks(redis_client, "notify") == [
        ("notify.deliver_message", {"message_id": str(copy.id)})
    ]
    notice = page_of(client.get(sent.headers["Location"]))
    assert "A new copy of “We received your Alliance proposal AP-2026-10007” is on its way" in (
        notice
    )
    assert 'role="status"' in notice
    with database.transaction() as session:
        kept = session.get(Message, original)
        assert kept is not None
        assert (kept.status, kept.attempts) == ("failed", 13)


def test_a_held_decision_links_to_its_preview_and_is_not_resent(app):
    held = held_decision_message().id
    client = signed_in(app, COORDINATOR)

    page = page_of(client.get(f"/staff/log/{held}"))
    listed = page_of(client.get("/staff/log?status=held"))
    asked = client.get(f"/staff/log/{held}/resend", headers={"Accept": "text/html"})
    resent = client.post(f"/staff/log/{held}/resend")

    assert f'href="/staff/messages/{held}"' in page
    assert "Preview, edit or release this held message" in page
    assert "Resend a copy" not in page
    assert log_links(listed) == [str(held)]
    assert "Held for release" in listed
    assert (asked.status_code, resent.status_code) == (409, 409)
    assert _copies_of(held) == 0
    preview = page_of(client.get(f"/staff/messages/{held}"))
    assert f'href="/staff/log/{held}"' in preview

    # Released but not gone yet: it can still be held back, on the held messages' page.
    client.post("/api/v1/held/release", json={"message_ids": [str(held)]})
    released = page_of(client.get(f"/staff/log/{held}"))
    assert "Waiting to go out" in released
    assert f'<a class="usa-link" href="/staff/messages/{held}">Hold it back' in released
    assert "Resend a copy" in released
    receipt = page_of(client.get(f"/staff/log/{a_message(status='pending', attempts=0)}"))
    assert "Hold it back" not in receipt  # only a decision was held, and is held back


def test_a_message_still_trying_says_what_went_wrong_last(app):
    retrying = a_message(
        status="pending",
        attempts=2,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
    )
    client = signed_in(app, COORDINATOR)
    listed = page_of(client.get("/staff/log?status=pending"))
    page = page_of(client.get(f"/staff/log/{retrying}"))
    assert (
        "The last attempt went wrong and another will follow. The mail server could not be"
        " reached or dropped the connection: ConnectionRefusedError" in listed
    )
    assert "This message was not delivered" not in page
    assert "could not be reached or dropped the connection" in page


def test_a_liaison_may_read_but_not_resend(app):
    original = a_message(status="failed", last_error=REFUSED_550)
    client = signed_in(app, LEE)
    assert client.get(f"/staff/log/{original}/resend").status_code == 403
    assert client.post(f"/staff/log/{original}/resend").status_code == 403
    assert _copies_of(original) == 0


def test_the_failed_deliveries_open_in_the_log(app):
    failed = a_message(status="failed", last_error=REFUSED_550)
    page = page_of(signed_in(app, COORDINATOR).get("/staff/deliveries"))
    assert f'href="/staff/log/{failed}"' in page


# -- the API ------------------------------------------------------------------------------------


def test_the_api_filters_the_log_the_same_way(app):
    story = a_proposals_story()
    failed = a_message(
        0, status="failed", to_address="x@unknown.example", last_error=REFUSED_550, reference=""
    )
    client = signed_in(app, COORDINATOR)

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


# -- the reason, in words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_error", "reason"),
    [
        (None, ""),
        (REFUSED_550, "The mail server refused the recipient's address permanently: 550 5.1.1"),
        (
            "SMTPDataError: 554 5.7.1 Message rejected as spam",
            "The mail server refused it permanently: 554 5.7.1 Message rejected as spam",
        ),
        (
            "SMTPSenderRefused: 451 4.3.0 try later",
            "The mail server refused our sender address for now (a temporary answer): 451",
        ),
        (
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "The mail server could not be reached or dropped the connection: Connection",
        ),
        (
            "ambiguous: SMTPServerDisconnected: Connection unexpectedly closed",
            "The mail server did not confirm an attempt after the message was handed over",
        ),
        ("Something odd", "Sending went wrong: Something odd"),
    ],
)
def test_the_servers_last_answer_is_explained(last_error: str | None, reason: str):
    explained = domain.failure_reason(Message(last_error=last_error))
    assert explained.startswith(reason)
    assert bool(explained) == bool(reason)


# -- helpers ------------------------------------------------------------------------------------


def _copies(message_id: uuid.UUID) -> list[Message]:
    with database.transaction() as session:
        found = session.scalars(
            select(Message).where(Message.cause.like(f"resend:{message_id}:%"))
        ).all()
        session.expunge_all()
        return list(found)


def _copies_of(message_id: uuid.UUID) -> int:
    return len(_copies(message_id))


def _proposal_of(message_id: uuid.UUID) -> uuid.UUID:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert message.proposal_id is not None
        return message.proposal_id


def test_a_resent_copy_carries_the_originals_calendar(app, redis_client):
    calendar = "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n"
    original = a_message(status="sent", template="report_due", calendar=calendar)
    client = signed_in(app, COORDINATOR)
    assert client.post(f"/staff/log/{original}/resend").status_code == 303
    [copy] = _copies(original)
    assert copy.calendar == calendar
