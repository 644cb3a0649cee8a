"""The message log in notify's staff pages (``/staff/log``, ``/staff/log/<id>``) and in its API
(``GET /api/v1/messages``): every message with its recipient, status, attempts, the server's
last answer and both parts; filters by reference, recipient and status; pages; resend with a
confirmation; and who sees what (any staff member, never a partner they are in conflict with).

Each person sees what is theirs.

1. The partner's status page (intake's ``/status/<token>``) lists only the messages sent to the
   partner's own contact: never the Coordinator's alert, a liaison's "Action required" or
   "Copy:" message, nor a staff address.
2. Notify knows who is whose (the events that create an alliance name its liaison with their
   staff id): a liaison reads the messages of their own alliances and the proposals those came
   from, a reviewer those of the proposals, the Coordinator all outside their conflicts. A
   partner's signed link (``/status/<token>``, ``/reporting/reports/<token>``) is a bearer
   credential: the message log, a message's page, its HTML frame and the API never show it,
   while the stored message and the e-mail sent keep it; the liaison's copy of a reminder
   links the report's staff page instead.

The messages are made by notify's own consumers from the events the other services send.

Notify's staff API: held decision messages, previewed, edited, released, held, resent.

The message log's search: ``q`` on ``/staff/log`` and ``GET /api/v1/messages``
finds part of a reference (``ap-2026-1``, ``2026-0001``), part of a subject, or part of the
partner organization's name (kept folded in ``organization_key``), case aside; the
exact-reference filter stays as it was. A search never reaches past what the person may read
(a liaison searching another alliance's partner finds nothing), and ``%`` and ``_`` are taken
literally.

Notify's staff pages say who edited, released, resent, registered or replayed by name, not
by e-mail address; the API gives the name beside the address; rows recorded before names
were kept still read, by the address.

Notify's staff rules (services/notify/log/domain.py), including a mistake once made: a
reviewer who declared a conflict of interest could still list, read and edit the held messages
about that organization's proposal in notify. Conflicts reach notify as review's
``staff.conflict_declared`` event, consumed by ``notify.conflict_declared``.

The message log is in the order of the times it shows: each row shows when the
message was sent (or, until it is, when it was recorded), and the rows go newest first by that
time. A decision letter held for a last look is recorded long before it is sent: it used to
sit among the older messages, under the time it was sent."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select, update

import services.notify.tasks
from services.intake import create_app as intake_app
from services.intake import tasks as intake_tasks
from services.intake.models import SentMessage
from services.intake.tokens import make_token as intake_token
from services.intake.worker import database as intake_database
from services.notify import create_app
from services.notify import create_app as notify_app
from services.notify.delivery import domain as delivery
from services.notify.log import domain
from services.notify.log.domain import release_held
from services.notify.messages import domain as messages
from services.notify.models import Message, OutboxEvent
from services.notify.tasks import conflict_declared
from services.notify.worker import database
from services.reporting.reports.tokens import report_url
from shared.config import load_settings
from shared.db import utcnow
from shared.events import SUBSCRIPTIONS, new_event
from shared.security_headers import SANDBOXED_POLICY
from shared.testing import example_proposal
from tests.helpers import queued_tasks
from tests.intake.factories import proposal, submitted_event
from tests.notify.factories import deliver_queued_mail, held_decision_message
from tests.notify.log.helpers import (
    BAKERS,
    CORA,
    LEE,
    REFUSED_550,
    REVIEWER_NOTIFY_CONFLICTS,
    a_held_decision,
    a_sent_message,
    arrives,
    copies_of,
)
from tests.offline_dns import OfflineResolver
from tests.review.factories import conflict_declared_event
from tests.shared.factories import COORDINATOR, REVIEWER, ROOFERS, acting, signed_in
from tests.smtp import text_of

pytestmark = pytest.mark.integration

ROOFERS_KEY = "michigan roofing contractors association"


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


@pytest.mark.usefixtures("clean_databases")
def test_the_log_filtered_by_reference_tells_one_proposals_story_newest_first(notify_app):
    story = a_proposals_story()
    other = a_message(5, reference="AP-2026-10008", subject="About another proposal")
    client = signed_in(notify_app, COORDINATOR)

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


@pytest.mark.usefixtures("clean_databases")
def test_the_log_filters_by_recipient_and_status_and_says_why_a_message_failed(notify_app):
    story = a_proposals_story()
    failed = a_message(
        1,
        to_address="nobody@unknown.example",
        status="failed",
        attempts=1,
        last_error=REFUSED_550,
        proposal_id=uuid.uuid4(),
    )
    client = signed_in(notify_app, REVIEWER)

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


@pytest.mark.usefixtures("clean_databases")
def test_a_bad_filter_is_said_beside_its_field(notify_app):
    a_message()
    client = signed_in(notify_app, COORDINATOR)
    answer = client.get("/staff/log?status=lost")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "Choose a status from the list, or any status." in text
    assert 'href="#status"' in text


@pytest.mark.usefixtures("clean_databases")
def test_the_log_comes_in_pages_and_keeps_its_filters_across_them(notify_app):
    for minutes in range(domain.LOG_PAGE_SIZE + 3):
        a_message(minutes, subject=f"Reminder {minutes}", status="pending", attempts=0)
    a_message(0, status="sent", reference="AP-2026-10009")
    client = signed_in(notify_app, COORDINATOR)

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


@pytest.mark.usefixtures("clean_databases")
def test_any_staff_member_reads_the_log_but_the_conflicted_sees_nothing_of_that_partner(notify_app):
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
        page = page_of(signed_in(notify_app, person).get("/staff/log"))
        assert len(log_links(page)) == 11, person.email
    # The liaison of the Roofers' alliance: its five, and the one of its proposal.
    lees = page_of(signed_in(notify_app, LEE).get("/staff/log"))
    assert sorted(log_links(lees)) == sorted(str(i) for i in [*roofers.values(), unnamed])
    client = signed_in(notify_app, conflicted)
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


@pytest.mark.usefixtures("clean_databases")
def test_the_log_needs_a_sign_in_and_a_staff_role(notify_app):
    anonymous = notify_app.test_client().get("/staff/log")
    assert anonymous.status_code == 303
    assert "/review/staff/sign-in?next=" in anonymous.headers["Location"]
    nobody = signed_in(notify_app, acting("nobody@agency.example"))
    assert nobody.get("/staff/log").status_code == 403


# -- a message's page ---------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
def test_a_messages_page_shows_its_delivery_and_both_parts(notify_app):
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
    page = page_of(signed_in(notify_app, LEE).get(f"/staff/log/{message_id}"))

    assert "<h1>We received your Alliance proposal AP-2026-10007</h1>" in page
    assert "This message was not delivered" in page
    assert "The mail server refused the recipient&#39;s address permanently: 550 5.1.1" in page
    assert "nobody@unknown.example" in page
    assert re.search(r"Attempts</dt><dd[^>]*>3</dd>", page)
    assert "Dear Dana,\n\nWe received your proposal." in page
    assert 'href="/staff/log?reference=AP-2026-10007"' in page
    assert "Resend a copy" not in page  # a liaison does not resend


@pytest.mark.usefixtures("clean_databases")
def test_the_html_part_cannot_run_a_script(notify_app):
    hostile = (
        '<p>Hello</p><script>alert("x")</script>'
        '<img src=x onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
        '"></iframe><script>alert(3)</script>'
    )
    message_id = a_message(html_body=hostile, subject='<script>alert("s")</script>')
    client = signed_in(notify_app, COORDINATOR)
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


@pytest.mark.usefixtures("clean_databases")
def test_a_resend_asks_first_then_makes_a_copy_and_says_so(notify_app, redis_client):
    original = a_message(
        status="failed", attempts=13, last_error=REFUSED_550, proposal_id=uuid.uuid4()
    )
    client = signed_in(notify_app, REVIEWER)

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


@pytest.mark.usefixtures("clean_databases")
def test_a_held_decision_links_to_its_preview_and_is_not_resent(notify_app):
    held = held_decision_message().id
    client = signed_in(notify_app, COORDINATOR)

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


@pytest.mark.usefixtures("clean_databases")
def test_a_message_still_trying_says_what_went_wrong_last(notify_app):
    retrying = a_message(
        status="pending",
        attempts=2,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
    )
    client = signed_in(notify_app, COORDINATOR)
    listed = page_of(client.get("/staff/log?status=pending"))
    page = page_of(client.get(f"/staff/log/{retrying}"))
    assert (
        "The last attempt went wrong and another will follow. The mail server could not be"
        " reached or dropped the connection: ConnectionRefusedError" in listed
    )
    assert "This message was not delivered" not in page
    assert "could not be reached or dropped the connection" in page


@pytest.mark.usefixtures("clean_databases")
def test_a_liaison_may_read_but_not_resend(notify_app):
    original = a_message(status="failed", last_error=REFUSED_550)
    client = signed_in(notify_app, LEE)
    assert client.get(f"/staff/log/{original}/resend").status_code == 403
    assert client.post(f"/staff/log/{original}/resend").status_code == 403
    assert _copies_of(original) == 0


@pytest.mark.usefixtures("clean_databases")
def test_the_failed_deliveries_open_in_the_log(notify_app):
    failed = a_message(status="failed", last_error=REFUSED_550)
    page = page_of(signed_in(notify_app, COORDINATOR).get("/staff/deliveries"))
    assert f'href="/staff/log/{failed}"' in page


# -- the reason, in words -----------------------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
def test_a_resent_copy_carries_the_originals_calendar(notify_app, redis_client):
    calendar = "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n"
    original = a_message(status="sent", template="report_due", calendar=calendar)
    client = signed_in(notify_app, COORDINATOR)
    assert client.post(f"/staff/log/{original}/resend").status_code == 303
    [copy] = _copies(original)
    assert copy.calendar == calendar


COORDINATOR_EMAIL = "coordinator@agency.example"  # COORDINATOR_EMAIL in the tests

# The people, as notify sees them signed in (conflicts come from review's event).
LIAISON_A = acting("lee@agency.example", "liaison", name="Lee Liaison")
LIAISON_B = acting("ola@agency.example", "liaison", name="Ola Other")
REVIEWER_NOTIFY_VISIBILITY = acting("riley@agency.example", "reviewer")
COORDINATOR_NOTIFY_VISIBILITY = acting("cora@agency.example", "coordinator")
CONFLICTED = acting("conrad@agency.example", "coordinator")  # declares a conflict with A

SIGNED_LINK = re.compile(r"/(?:status|apply/resume|reporting/reports)/[A-Za-z0-9_\-.]+")


def consume(event: Any) -> None:
    """Run notify's consumer of ``event`` here, as its worker would."""
    message = event.to_message()
    [consumer] = [
        name
        for name in SUBSCRIPTIONS[event.type]
        if name.startswith("notify.") and not name.startswith("notify.webhooks_")
    ]
    services.notify.tasks.celery.tasks[consumer](event=message)


def base_url() -> str:
    return load_settings().public_base_url.rstrip("/")


def status_url(proposal_id: uuid.UUID) -> str:
    """Intake's signed link to the proposal's status page, as intake makes it."""
    return f"{base_url()}/status/{intake_token('status', proposal_id)}"


class Alliance:
    """One partner's story in notify: proposal, decision, welcome and a reminder."""

    def __init__(self, name: str, liaison: Any, reference: str) -> None:
        self.name = name
        self.liaison = liaison
        self.reference = reference
        self.proposal_id = uuid.uuid4()
        self.alliance_id = uuid.uuid4()
        self.report_id = uuid.uuid4()
        self.contact_email = f"contact@{name.split()[0].lower()}.example"
        self.report_url = report_url(self.report_id)
        self.status_url = status_url(self.proposal_id)

    @property
    def person(self) -> dict[str, Any]:
        return {"id": self.liaison.staff_id, "name": self.liaison.name, "email": self.liaison.email}

    @property
    def contact(self) -> dict[str, Any]:
        return {"name": "Dana Smith", "email": self.contact_email}

    def submitted(self) -> None:
        data = proposal(self.name)
        data["contact"]["email"] = self.contact_email
        consume(
            submitted_event(
                data,
                proposal_id=self.proposal_id,
                reference=self.reference,
                status_url=self.status_url,
            )
        )

    def approved(self) -> None:
        consume(
            new_event(
                "proposal.approved",
                producer="review",
                payload={
                    "proposal_id": self.proposal_id,
                    "reference": self.reference,
                    "version": 1,
                    "contact_name": "Dana Smith",
                    "contact_email": self.contact_email,
                    "organization_name": self.name,
                    "status_url": self.status_url,
                    "alliance_id": self.alliance_id,
                    "division": "construction_safety_health",
                    "signing_date": date(2026, 1, 15),
                    "term_years": 2,
                    "decided_at": datetime.now(UTC),
                    "liaison": self.person,
                },
            )
        )

    def scheduled(self) -> None:
        consume(
            new_event(
                "alliance.reports_scheduled",
                producer="reporting",
                payload={
                    "alliance_id": self.alliance_id,
                    "proposal_id": self.proposal_id,
                    "reference": self.reference,
                    "partner_name": self.name,
                    "contact": self.contact,
                    "liaison": self.person,
                    "division": "construction_safety_health",
                    "term": 0,
                    "term_years": 2,
                    "signing_date": date(2026, 1, 15),
                    "ends_on": date(2028, 1, 14),
                    "reports": [
                        {
                            "report_id": self.report_id,
                            "kind": "quarterly",
                            "period_start": date(2026, 1, 15),
                            "period_end": date(2026, 3, 31),
                            "due_date": date(2026, 4, 30),
                        }
                    ],
                    "report_url": self.report_url,
                },
            )
        )

    def reminded(self) -> None:
        consume(
            new_event(
                "report.due_soon",
                producer="reporting",
                payload={
                    "report_id": self.report_id,
                    "alliance_id": self.alliance_id,
                    "proposal_id": self.proposal_id,
                    "reference": self.reference,
                    "partner_name": self.name,
                    "contact": self.contact,
                    "liaison": self.person,
                    "kind": "quarterly",
                    "term": 0,
                    "period_start": date(2026, 1, 15),
                    "period_end": date(2026, 3, 31),
                    "due_date": date(2026, 4, 30),
                    "reminder": "due_soon",
                    "days": -14,
                    "report_url": self.report_url,
                },
            )
        )

    def whole_story(self) -> None:
        self.submitted()
        self.approved()
        self.scheduled()
        self.reminded()


def message_ids() -> dict[str, uuid.UUID]:
    """Every message notify stored, by ``<reference>:<kind>``, ``operational:<template>``."""
    kinds = {
        "proposal_receipt": "partner receipt",
        "proposal_coordinator_alert": "Coordinator alert",
        "decision_approved": "decision",
        "alliance_signed_partner": "partner welcome",
        "alliance_signed_liaison": "liaison welcome",
    }
    found = {}
    with database.transaction() as session:
        for message in session.scalars(select(Message)):
            if message.template == "report_due_soon":
                kind = "reminder " + (
                    "liaison" if message.cause.endswith(":liaison") else "partner"
                )
                found[f"{message.reference}:{kind} copy"] = message.id
            elif message.template in kinds:
                found[f"{message.reference}:{kinds[message.template]}"] = message.id
            else:
                found[f"operational:{message.template}"] = message.id
    return found


def stored(message_id: uuid.UUID) -> Message:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        session.expunge(message)
        return message


def everything_shown(client: Any, message_id: uuid.UUID) -> str:
    """All a person is shown of one message: its page, its HTML frame (a frame of its own, or
    the page's ``srcdoc``), and the API's message."""
    page = client.get(f"/staff/log/{message_id}")
    assert page.status_code == 200, page.status_code
    shown = page.get_data(as_text=True)
    frame = re.search(r'<iframe[^>]*\ssrc="([^"]+)"', shown)
    if frame:
        answer = client.get(frame[1].replace("&amp;", "&"))
        assert answer.status_code == 200, answer.status_code
        shown += answer.get_data(as_text=True)
    api = client.get(f"/api/v1/messages/{message_id}")
    assert api.status_code == 200, api.status_code
    return shown + str(api.get_json())


# -- finding 1: the partner's status page ------------------------------------------------------


@pytest.mark.usefixtures("clean_databases")
def test_the_status_page_lists_the_receipt_but_no_staff_mail(
    redis_client, smtp_server, monkeypatch
):
    intake = intake_app({"TESTING": True}).test_client()
    submitted = intake.post("/api/v1/proposals", json=example_proposal())
    assert submitted.status_code == 201, submitted.get_json()
    body = submitted.get_json()
    proposal_id, reference = uuid.UUID(body["id"]), body["reference"]
    redis_client.delete("notify")  # intake's event for notify: consumed here instead
    # Notify receives the submission: the receipt to the contact, the alert to the Coordinator.
    consume(
        submitted_event(
            proposal(), proposal_id=proposal_id, reference=reference, status_url=body["status_url"]
        )
    )
    assert deliver_queued_mail(redis_client, smtp_server, monkeypatch) == ["sent", "sent"]
    with database.transaction() as session:
        sent = [row.message for row in session.scalars(select(OutboxEvent))]
    assert len(sent) == 2
    for event in sent:
        intake_tasks.message_sent(event=event)
    # A liaison's copy, as notify announced it before it said who the recipient is...
    intake_tasks.message_sent(
        event=new_event(
            "message.sent",
            producer="notify",
            payload={
                "message_id": uuid.uuid4(),
                "proposal_id": proposal_id,
                "reference": reference,
                "template": "alliance_signed_liaison",
                "subject": f"Action required: you are the liaison of {reference}",
                "to_address": "lee@agency.example",
                "sent_at": datetime.now(UTC),
            },
        ).to_message()
    )
    # ...and a staff message intake kept before it left them out.
    with intake_database.transaction() as session:
        session.add(
            SentMessage(
                message_id=uuid.uuid4(),
                proposal_id=proposal_id,
                template="report_due_soon",
                subject=f"Copy: the quarterly report for {reference} is due",
                to_address="ola@agency.example",
                sent_at=utcnow(),
            )
        )

    page = intake.get(f"/status/{body['status_url'].rsplit('/', 1)[1]}")
    api = intake.get(
        f"/api/v1/proposals/{proposal_id}?token={body['status_url'].rsplit('/', 1)[1]}"
    )

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"We received your Alliance proposal {reference}" in text
    assert "Action required" not in text
    assert "Copy:" not in text
    for staff in (COORDINATOR_EMAIL, "lee@agency.example", "ola@agency.example"):
        assert staff not in text
    assert [(m["subject"], m["to"]) for m in api.get_json()["messages"]] == [
        (f"We received your Alliance proposal {reference}", "dana@example.org")
    ]
    # Notify says who each recipient is.
    assert sorted(event["payload"]["recipient"] for event in sent) == ["partner", "staff"]


# -- finding 2: a liaison of B and alliance A's signed link --------------------------------------


@pytest.mark.usefixtures("clean_databases")
def test_a_liaison_opens_only_their_alliances_and_nobody_sees_a_signed_link(
    redis_client, smtp_server, monkeypatch
):
    a = Alliance(ROOFERS, LIAISON_A, "AP-2026-10001")
    b = Alliance(BAKERS, LIAISON_B, "AP-2026-10002")
    a.whole_story()
    b.whole_story()
    found = message_ids()
    welcome = found[f"{a.reference}:partner welcome"]
    receipt = found[f"{a.reference}:partner receipt"]
    app = notify_app({"TESTING": True, "WTF_CSRF_ENABLED": False})

    liaison_b = signed_in(app, LIAISON_B)
    for path in (f"/staff/log/{welcome}", f"/api/v1/messages/{welcome}"):
        assert liaison_b.get(path).status_code in (403, 404), path
    assert str(welcome) not in liaison_b.get("/staff/log").get_data(as_text=True)

    for person in (LIAISON_A, COORDINATOR_NOTIFY_VISIBILITY):
        client = signed_in(app, person)
        for message_id in (welcome, receipt, found[f"{a.reference}:reminder partner copy"]):
            shown = everything_shown(client, message_id)
            assert SIGNED_LINK.search(shown) is None, (person.email, SIGNED_LINK.search(shown))
            assert a.report_url not in shown
            assert a.status_url not in shown
            assert "[partner&#39;s signed link, hidden]" in shown
        listed = client.get(f"/api/v1/messages?reference={a.reference}").get_json()
        assert SIGNED_LINK.search(str(listed)) is None

    # The partner still gets the link: the stored message, and the e-mail it sends.
    assert a.report_url in stored(welcome).text_body
    assert a.status_url in stored(receipt).text_body
    # The welcome waits behind the held approval letter; staff release both.
    assert stored(welcome).status == "held"
    with database.transaction() as session:
        decision = found[f"{a.reference}:decision"]
        release_held(session, COORDINATOR_NOTIFY_VISIBILITY, message_ids=[decision, welcome])
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)
    [mail] = smtp_server.inbox.wait_for(
        lambda m: m["To"] == a.contact_email and "signed" in str(m["Subject"]).lower()
    )
    assert a.report_url in text_of(mail).replace("\r\n", "\n")


@pytest.mark.usefixtures("clean_databases")
def test_the_liaisons_copy_of_a_reminder_links_the_staff_page_not_the_partners(redis_client):
    a = Alliance(ROOFERS, LIAISON_A, "AP-2026-10001")
    a.whole_story()
    found = message_ids()
    copy = stored(found[f"{a.reference}:reminder liaison copy"])
    partner = stored(found[f"{a.reference}:reminder partner copy"])

    staff_page = f"{base_url()}/reporting/staff/reports/{a.report_id}"
    assert a.report_url not in copy.text_body
    assert a.report_url not in copy.html_body
    assert a.report_url not in copy.calendar
    assert f"The report in the staff pages:\n{staff_page}" in copy.text_body
    assert f'href="{staff_page}"' in copy.html_body
    assert a.report_url in partner.text_body


@pytest.mark.usefixtures("clean_databases")
def test_a_held_decision_edited_from_its_hidden_text_keeps_the_partners_link(redis_client):
    a = Alliance(ROOFERS, LIAISON_A, "AP-2026-10001")
    a.submitted()
    consume(
        new_event(
            "proposal.changes_requested",
            producer="review",
            payload={
                "proposal_id": a.proposal_id,
                "reference": a.reference,
                "version": 1,
                "message": "Add a measure.",
                "requested_at": datetime.now(UTC),
                "contact_name": "Dana Smith",
                "contact_email": a.contact_email,
                "organization_name": a.name,
                "status_url": a.status_url,
            },
        )
    )
    with database.transaction() as session:
        held = session.scalars(select(Message.id).where(Message.status == "held")).one()
    client = signed_in(
        notify_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), REVIEWER_NOTIFY_VISIBILITY
    )

    shown = client.get(f"/api/v1/messages/{held}").get_json()
    assert a.status_url not in shown["text_body"]
    edited = client.put(
        f"/api/v1/messages/{held}",
        json={"subject": shown["subject"], "text_body": "Hello,\n\n" + shown["text_body"]},
    )

    assert edited.status_code == 200, edited.get_json()
    assert a.status_url not in str(edited.get_json())
    message = stored(held)
    assert message.text_body.startswith("Hello,\n\n")
    assert a.status_url in message.text_body
    assert a.status_url in message.html_body


# -- who sees what: the matrix ---------------------------------------------------------------------
#
# Two alliances, A (Roofers, liaison Lee) and B (Bakers, liaison Ola), each with every kind of
# message; the operational mail: a delivery that failed (A's receipt, refused for good) and a
# webhook endpoint disabled. "yes": listed in the log page and the API, and the message opens;
# "-": not listed, and opening it is refused (403). Whoever holds A's signed links (the
# partner) has no staff session: the log sends them to sign in, the API answers 401, for all.
#
# | message                   | reviewer | liaison A | liaison B | Coord. | Coord., conflict A |
# |---------------------------|----------|-----------|-----------|--------|--------------------|
# | A: partner receipt        | yes      | yes       | -         | yes    | -                  |
# | A: Coordinator alert      | yes      | yes       | -         | yes    | -                  |
# | A: decision (held)        | yes      | yes       | -         | yes    | -                  |
# | A: partner welcome        | yes      | yes       | -         | yes    | -                  |
# | A: liaison welcome        | yes      | yes       | -         | yes    | -                  |
# | A: reminder, partner copy | yes      | yes       | -         | yes    | -                  |
# | A: reminder, liaison copy | yes      | yes       | -         | yes    | -                  |
# | B: each of the same seven | yes      | -         | yes       | yes    | yes                |
# | delivery failed (about A) | -        | -         | -         | yes    | -                  |
# | webhook disabled          | -        | -         | -         | yes    | yes                |

KINDS = (
    "partner receipt",
    "Coordinator alert",
    "decision",
    "partner welcome",
    "liaison welcome",
    "reminder partner copy",
    "reminder liaison copy",
)
IDENTITIES: dict[str, Any] = {
    "holder of A's signed links": None,  # the partner: no staff session, so no log
    "reviewer": REVIEWER_NOTIFY_VISIBILITY,
    "liaison A": LIAISON_A,
    "liaison B": LIAISON_B,
    "Coordinator": COORDINATOR_NOTIFY_VISIBILITY,
    "Coordinator in conflict with A": CONFLICTED,
}
SEES_A = {"reviewer", "liaison A", "Coordinator"}
SEES_B = {"reviewer", "liaison B", "Coordinator", "Coordinator in conflict with A"}
MATRIX: dict[str, set[str]] = {
    **{f"AP-2026-10001:{kind}": SEES_A for kind in KINDS},
    **{f"AP-2026-10002:{kind}": SEES_B for kind in KINDS},
    "operational:delivery_failed": {"Coordinator"},
    "operational:webhook_disabled": {"Coordinator", "Coordinator in conflict with A"},
}


@pytest.mark.usefixtures("clean_databases")
def test_each_identity_sees_exactly_what_is_theirs(redis_client):
    a = Alliance(ROOFERS, LIAISON_A, "AP-2026-10001")
    b = Alliance(BAKERS, LIAISON_B, "AP-2026-10002")
    a.whole_story()
    b.whole_story()
    services.notify.tasks.conflict_declared(
        event=conflict_declared_event(CONFLICTED.staff_id, ROOFERS).to_message()
    )
    receipt = message_ids()[f"{a.reference}:partner receipt"]
    settings = load_settings()
    with database.transaction() as session:
        claimed = delivery.claim(session, message_id=receipt, now=utcnow())
        assert claimed is not None
        delivery.record_not_sent(
            session,
            message_id=receipt,
            attempt=claimed.attempts,
            error="SMTPRecipientsRefused: 550 5.1.1 no such user",
            permanent=True,
            policy=services.notify.tasks.delivery_policy(settings),
            now=utcnow(),
        )
        messages.webhook_disabled(
            session,
            endpoint_id=uuid.uuid4(),
            url="https://hooks.example/alliance",
            description="CRM",
            reason="Failed 20 times in a row.",
            disabled_at=utcnow(),
            settings=settings,
            profile=services.notify.tasks.load_agency_profile(),
        )
    found = message_ids()
    assert sorted(found) == sorted(MATRIX)
    app = notify_app({"TESTING": True, "WTF_CSRF_ENABLED": False})

    seen: dict[str, dict[str, set[str]]] = {}
    for identity, person in IDENTITIES.items():
        client = app.test_client() if person is None else signed_in(app, person)
        log = client.get("/staff/log")
        page = log.get_data(as_text=True)
        on_page = set(re.findall(r'href="/staff/log/([0-9a-f-]{36})"', page))
        in_api: set[str] = set()
        for status in ("held", "pending", "sending", "sent", "failed"):
            answer = client.get(f"/api/v1/messages?status={status}")
            if person is None:  # sent to sign in, shown nothing
                assert log.status_code in (302, 303)
                assert answer.status_code == 401
                continue
            assert answer.status_code == 200, answer.get_json()
            in_api |= {m["id"] for m in answer.get_json()["messages"]}
        opens = {
            str(message_id)
            for message_id in found.values()
            if client.get(f"/api/v1/messages/{message_id}").status_code == 200
        }
        seen[identity] = {"page": on_page, "api": in_api, "opens": opens}

    for name, message_id in found.items():
        for identity in IDENTITIES:
            for where in ("page", "api", "opens"):
                assert (str(message_id) in seen[identity][where]) == (identity in MATRIX[name]), (
                    f"{identity} {where} {name}"
                )


@pytest.mark.usefixtures("clean_databases")
def test_held_messages_page_edits_and_releases(notify_app, redis_client):
    message_id = held_decision_message().id
    client = signed_in(notify_app, COORDINATOR)
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


@pytest.mark.usefixtures("clean_databases")
def test_held_messages_page_needs_a_sign_in_and_a_role(notify_app):
    anonymous = notify_app.test_client().get("/staff/messages")
    assert anonymous.status_code == 303
    assert "/review/staff/sign-in?next=" in anonymous.headers["Location"]
    assert signed_in(notify_app, LEE).get("/staff/messages").status_code == 403


@pytest.mark.usefixtures("clean_databases")
def test_an_empty_message_is_refused_inline(notify_app):
    message_id = held_decision_message().id
    client = signed_in(notify_app, REVIEWER)
    response = client.post(
        f"/staff/messages/{message_id}", data={"subject": "x", "text_body": "  ", "action": "save"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#text-body">Message: Write the message.</a>' in page
    assert 'aria-invalid="true"' not in page.split('id="text-body"')[0]  # the subject was fine


@pytest.mark.usefixtures("clean_databases")
def test_the_coordinator_sees_failed_and_uncertain_deliveries_and_resends_one(
    notify_app, redis_client
):
    failed = a_sent_message(
        status="failed",
        attempts=1,
        last_error="SMTPRecipientsRefused: 550 5.1.1 <dana@example.org>: User unknown",
    )
    uncertain = a_sent_message(subject="Twice, perhaps", ambiguous_deliveries=1)
    a_sent_message(subject="Went out fine")
    client = signed_in(notify_app, COORDINATOR)

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


@pytest.mark.usefixtures("clean_databases")
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


@pytest.mark.usefixtures("clean_databases")
def test_a_nul_in_the_edit_form_is_shown_beside_the_field_and_nothing_is_stored(notify_app):
    message_id = held_decision_message().id
    client = signed_in(notify_app, REVIEWER)

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


BAKERS_KEY = "great lakes bakers guild"


def a_proposals_story_notify_log_search(reference: str, **values: Any) -> dict[str, Any]:
    """``test_notify_log``'s story of one proposal, its receipt's subject naming its own
    reference."""
    story = a_proposals_story(reference, **values)
    with database.transaction() as session:
        receipt = session.get(Message, story["receipt"])
        assert receipt is not None
        receipt.subject = f"We received your Alliance proposal {reference}"
    return story


def ids(story: dict[str, Any], *names: str) -> list[str]:
    return [str(story[name]) for name in names]


NEWEST_FIRST = ("reminder", "welcome_liaison", "welcome", "decision", "receipt")


def api_ids(client: Any, query: str) -> list[str]:
    answer = client.get(f"/api/v1/messages?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [m["id"] for m in answer.get_json()["messages"]]


@pytest.mark.usefixtures("clean_databases")
def test_part_of_a_reference_finds_its_messages_case_aside(notify_app):
    first = a_proposals_story_notify_log_search("AP-2026-10007")
    second = a_proposals_story_notify_log_search("AP-2026-20001")
    older = a_proposals_story_notify_log_search("AP-2025-10007")
    client = signed_in(notify_app, COORDINATOR)

    by_start = page_of(client.get("/staff/log?q=ap-2026-1"))
    by_middle = page_of(client.get("/staff/log?q=2026-2000"))
    by_end = page_of(client.get("/staff/log?q=%20-10007%20"))

    assert log_links(by_start) == ids(first, *NEWEST_FIRST)
    assert "<h1>Message log</h1>" in by_start  # a search is not one proposal's story
    assert 'value="ap-2026-1"' in by_start
    assert log_links(by_middle) == ids(second, *NEWEST_FIRST)
    assert sorted(log_links(by_end)) == sorted(
        ids(first, *NEWEST_FIRST) + ids(older, *NEWEST_FIRST)
    )
    assert api_ids(client, "q=AP-2026-1") == ids(first, *NEWEST_FIRST)
    # The exact filter is unchanged: a part of a reference is no reference.
    assert "No message matches" in page_of(client.get("/staff/log?reference=AP-2026-1"))
    exact = page_of(client.get("/staff/log?reference=ap-2026-20001"))
    assert "<h1>Messages about AP-2026-20001</h1>" in exact
    assert log_links(exact) == ids(second, *NEWEST_FIRST)
    # Search and filters combine.
    both = page_of(client.get("/staff/log?q=2026&to=lee@"))
    assert sorted(log_links(both)) == sorted(
        ids(first, "welcome_liaison") + ids(second, "welcome_liaison")
    )


@pytest.mark.usefixtures("clean_databases")
def test_part_of_an_organizations_name_finds_its_messages(notify_app):
    roofers = a_proposals_story_notify_log_search("AP-2026-10007", organization_key=ROOFERS_KEY)
    bakers = a_proposals_story_notify_log_search("AP-2026-10008", organization_key=BAKERS_KEY)
    operational = a_message(
        1,
        template="webhook_disabled",
        reference="",
        subject="Action required: a webhook endpoint was disabled (https://hooks.example/in)",
    )
    client = signed_in(notify_app, REVIEWER)

    roofing = page_of(client.get("/staff/log?q=Roofing+Contractors"))
    folded = page_of(client.get("/staff/log?q=%20great%20LAKES,%20bakers%20"))

    assert log_links(roofing) == ids(roofers, *NEWEST_FIRST)
    assert log_links(folded) == ids(bakers, *NEWEST_FIRST)
    assert api_ids(client, "q=michigan+roofing") == ids(roofers, *NEWEST_FIRST)
    assert "No message matches" in page_of(client.get("/staff/log?q=Plumbers"))
    # A subject names what the message is about: the Coordinator finds it by its words.
    coordinator = signed_in(notify_app, COORDINATOR)
    assert log_links(page_of(coordinator.get("/staff/log?q=webhook+ENDPOINT"))) == [
        str(operational)
    ]


@pytest.mark.usefixtures("clean_databases")
def test_a_search_never_reaches_past_what_the_person_may_read(notify_app):
    roofers = a_proposals_story_notify_log_search("AP-2026-10007", organization_key=ROOFERS_KEY)
    bakers = a_proposals_story_notify_log_search("AP-2026-10008", organization_key=BAKERS_KEY)
    a_message(1, template="webhook_disabled", reference="", subject="Bakers hook disabled")
    follows(LEE, roofers["welcome"])
    lee = signed_in(notify_app, LEE)

    for words in ("bakers", "Great Lakes", "2026-10008", "hook"):
        assert log_links(page_of(lee.get(f"/staff/log?q={words}"))) == [], words
        assert api_ids(lee, f"q={words}") == [], words
    assert log_links(page_of(lee.get("/staff/log?q=AP-2026"))) == ids(roofers, *NEWEST_FIRST)
    assert api_ids(lee, "q=roofing") == ids(roofers, *NEWEST_FIRST)

    conflicted = acting("conflicted@agency.example", "coordinator")
    conflict_declared(event=conflict_declared_event(conflicted.staff_id, ROOFERS).to_message())
    theirs = signed_in(notify_app, conflicted)
    assert log_links(page_of(theirs.get("/staff/log?q=roofing"))) == []
    assert api_ids(theirs, "q=AP-2026-1000") == ids(bakers, *NEWEST_FIRST)


@pytest.mark.usefixtures("clean_databases")
def test_wildcards_in_a_search_are_taken_literally(notify_app):
    percent = a_message(4, reference="", subject="Reached 100% of the goal")
    thousand = a_message(3, reference="", subject="Reached 1000 people")
    underscore = a_message(2, reference="", subject="File report_q1 attached")
    space = a_message(1, reference="", subject="File report q1 attached")
    client = signed_in(notify_app, COORDINATOR)

    def found(words: str) -> list[str]:
        return log_links(page_of(client.get("/staff/log", query_string={"q": words})))

    assert found("100%") == [str(percent)]
    assert found("%") == [str(percent)]
    assert found("report_q1") == [str(underscore)]
    assert found("_") == [str(underscore)]
    assert found("\\") == []
    assert sorted(found("reached")) == sorted([str(percent), str(thousand)])
    assert sorted(found("report q1")) == [str(space)]
    assert api_ids(client, "q=100%25") == [str(percent)]
    assert api_ids(client, "q=_") == [str(underscore)]


@pytest.mark.usefixtures("clean_databases")
def test_a_bad_search_is_said_beside_its_field(notify_app):
    a_message()
    client = signed_in(notify_app, COORDINATOR)

    too_long = client.get("/staff/log", query_string={"q": "x" * 201})
    blank = client.get("/api/v1/messages?q=%20%20")

    assert too_long.status_code == 422
    text = too_long.get_data(as_text=True)
    assert "Search with at most 200 characters." in text
    assert 'href="#q"' in text
    assert blank.status_code == 422
    assert blank.get_json()["errors"]["query.q"] == ["Give some words to search for."]


ADDRESS = "cora@agency.example"


def page_of_notify_staff_names(response: Any) -> str:
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


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("offline")
def test_a_held_message_edited_and_released_names_cora(notify_app):
    client = signed_in(notify_app, CORA)
    message_id = edited_by_cora(client)

    held = page_of_notify_staff_names(client.get("/staff/messages"))
    assert "edited by Cora Coordinator" in held
    assert ADDRESS not in held

    client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})
    logged = page_of_notify_staff_names(client.get(f"/staff/log/{message_id}"))
    assert 'Edited by</dt><dd class="margin-left-0 margin-bottom-1">Cora Coordinator' in logged
    assert (
        'Released or resent by</dt><dd class="margin-left-0 margin-bottom-1">Cora Coordinator'
        in (logged)
    )
    assert ADDRESS not in logged

    shown = client.get(f"/api/v1/messages/{message_id}").get_json()
    assert (shown["edited_by"], shown["edited_by_name"]) == (ADDRESS, "Cora Coordinator")
    assert (shown["released_by"], shown["released_by_name"]) == (ADDRESS, "Cora Coordinator")


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("offline")
def test_a_copy_resent_by_cora_names_her_and_holding_again_forgets_the_release(notify_app):
    client = signed_in(notify_app, CORA)
    message_id = held_decision_message().id
    client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})
    copy_id = client.post(f"/api/v1/messages/{message_id}/resend").get_json()["id"]

    copy = client.get(f"/api/v1/messages/{copy_id}").get_json()
    assert (copy["released_by"], copy["released_by_name"]) == (ADDRESS, "Cora Coordinator")
    logged = page_of_notify_staff_names(client.get(f"/staff/log/{copy_id}"))
    assert (
        'Released or resent by</dt><dd class="margin-left-0 margin-bottom-1">Cora Coordinator'
        in (logged)
    )
    client.post("/api/v1/held/hold", json={"message_ids": [str(message_id)]})
    held_again = client.get(f"/api/v1/messages/{message_id}").get_json()
    assert (held_again["released_by"], held_again["released_by_name"]) == (None, None)


@pytest.mark.usefixtures("clean_databases")
@pytest.mark.usefixtures("offline")
def test_a_message_edited_and_released_before_names_were_kept_reads_by_address(notify_app):
    client = signed_in(notify_app, CORA)
    message_id = edited_by_cora(client)
    with database.transaction() as session:
        session.execute(update(Message).where(Message.id == message_id).values(edited_by_name=None))

    assert f"edited by {ADDRESS}" in page_of_notify_staff_names(client.get("/staff/messages"))
    client.post("/api/v1/held/release", json={"message_ids": [str(message_id)]})
    with database.transaction() as session:
        session.execute(
            update(Message).where(Message.id == message_id).values(released_by_name=None)
        )
    logged = page_of_notify_staff_names(client.get(f"/staff/log/{message_id}"))
    assert f'Edited by</dt><dd class="margin-left-0 margin-bottom-1">{ADDRESS}' in logged
    assert f'Released or resent by</dt><dd class="margin-left-0 margin-bottom-1">{ADDRESS}' in (
        logged
    )
    assert client.get(f"/api/v1/messages/{message_id}").get_json()["edited_by_name"] is None


# -- webhooks -------------------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: Any) -> None:
    """hooks.example.org is a public address; the network is never asked."""
    OfflineResolver({"hooks.example.org": ["93.184.215.14"]}).install(monkeypatch)


# Staff as notify sees them. Through the API and pages a session carries no conflicts: notify
# learns them from review's event (REVIEWER declares one, COLLEAGUE does not).
COORDINATOR_NOTIFY_CONFLICTS = acting("coordinator@agency.example", "coordinator")


# -- builders ---------------------------------------------------------------------------------


def stored_notify_conflicts(message_id: uuid.UUID) -> tuple:
    with database.transaction() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return (message.status, message.subject, message.text_body, message.edited_by,
                message.released_by)  # fmt: skip


def set_status(message_id: uuid.UUID, **values: object) -> None:
    with database.transaction() as session:
        session.execute(update(Message).where(Message.id == message_id).values(**values))


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_a_reviewer_in_conflict_neither_sees_nor_edits_the_message_on_the_pages(notify_app):
    _, held = a_held_decision(ROOFERS)
    _, bakers_held = a_held_decision(BAKERS)
    conflict_declared(
        event=conflict_declared_event(REVIEWER_NOTIFY_CONFLICTS.staff_id).to_message()
    )
    client = signed_in(notify_app, REVIEWER_NOTIFY_CONFLICTS)
    before = stored_notify_conflicts(held)

    listing = client.get("/staff/messages").get_data(as_text=True)
    page = client.get(f"/staff/messages/{held}", headers={"Accept": "text/html"})
    edited = client.post(
        f"/staff/messages/{held}",
        data={"subject": "Changed", "text_body": "Changed.", "action": "release"},
    )
    released = client.post("/staff/messages", data={"message_ids": [str(bakers_held), str(held)]})

    assert f'value="{bakers_held}"' in listing
    assert str(held) not in listing
    assert page.status_code == 403
    assert domain.IN_CONFLICT in page.get_data(as_text=True)
    assert (edited.status_code, released.status_code) == (403, 403)
    assert domain.IN_CONFLICT in edited.get_data(as_text=True)
    assert stored_notify_conflicts(held) == before
    assert stored_notify_conflicts(bakers_held)[0] == "held"


@pytest.mark.usefixtures("clean_databases", "redis_client")
def test_a_coordinator_in_conflict_does_not_see_or_resend_its_failed_deliveries(notify_app):
    proposal_id = arrives(ROOFERS)
    bakers = arrives(BAKERS)
    with database.transaction() as session:
        [roofers_receipt] = session.scalars(
            select(Message.id).where(
                Message.proposal_id == proposal_id, Message.template == "proposal_receipt"
            )
        ).all()
        [bakers_receipt] = session.scalars(
            select(Message.id).where(
                Message.proposal_id == bakers, Message.template == "proposal_receipt"
            )
        ).all()
    for message_id in (roofers_receipt, bakers_receipt):
        set_status(message_id, status="failed", attempts=8, last_error="550 no such user")
    conflict_declared(
        event=conflict_declared_event(COORDINATOR_NOTIFY_CONFLICTS.staff_id).to_message()
    )
    client = signed_in(notify_app, COORDINATOR_NOTIFY_CONFLICTS)

    page = client.get("/staff/deliveries").get_data(as_text=True)
    resent = client.post(f"/staff/deliveries/{roofers_receipt}/resend")

    assert f"/staff/deliveries/{bakers_receipt}/resend" in page
    assert str(roofers_receipt) not in page
    assert resent.status_code == 403
    assert copies_of(roofers_receipt) == 0


REFERENCE = "AP-2026-10031"


def a_message_notify_log_order(*, recorded: int, sent: int | None, **values: Any) -> uuid.UUID:
    """A message recorded ``recorded`` minutes ago and sent ``sent`` minutes ago (or not)."""
    now = utcnow()
    fields: dict[str, Any] = {
        "cause": f"test:{uuid.uuid4()}",
        "template": "proposal_receipt",
        "to_address": "dana@example.org",
        "subject": f"A message about {REFERENCE}",
        "text_body": "Dear Dana,\n",
        "html_body": "<p>Dear Dana,</p>",
        "reference": REFERENCE,
        "status": "sent" if sent is not None else "pending",
        "attempts": 1 if sent is not None else 0,
        "ambiguous_deliveries": 0,
        "created_at": now - timedelta(minutes=recorded),
        "next_attempt_at": now - timedelta(minutes=recorded),
        "sent_at": now - timedelta(minutes=sent) if sent is not None else None,
        **values,
    }
    with database.transaction() as session:
        message = Message(**fields)
        session.add(message)
        session.flush()
        return message.id


ROW = re.compile(
    r'<td data-label="When"><time datetime="([^"]+)">.*?href="/staff/log/([0-9a-f-]{36})"',
    re.S,
)


def rows(page: str) -> list[tuple[datetime, str]]:
    """(the time shown, the message's id) of each row of the log, top to bottom."""
    return [(datetime.fromisoformat(at), message_id) for at, message_id in ROW.findall(page)]


@pytest.mark.usefixtures("clean_databases")
def test_the_log_goes_newest_first_by_the_time_each_row_shows(notify_app):
    receipt = a_message_notify_log_order(recorded=90, sent=89)
    # Held for a last look: recorded an hour ago, released and sent five minutes ago.
    letter = a_message_notify_log_order(recorded=60, sent=5, template="decision_approved")
    welcome = a_message_notify_log_order(recorded=20, sent=20, template="alliance_signed_partner")
    waiting = a_message_notify_log_order(
        recorded=10, sent=None, template="report_due_soon"
    )  # shows recorded
    client = signed_in(notify_app, COORDINATOR)

    for url in ("/staff/log", f"/staff/log?reference={REFERENCE}"):
        response = client.get(url)
        assert response.status_code == 200
        shown = rows(response.get_data(as_text=True))
        assert [message_id for _, message_id in shown] == [
            str(letter),
            str(waiting),
            str(welcome),
            str(receipt),
        ]
        times = [at for at, _ in shown]
        assert times == sorted(times, reverse=True)


@pytest.mark.usefixtures("clean_databases")
def test_the_order_holds_across_pages(notify_app):
    # Sent in the reverse of the order they were recorded in: the first recorded, sent last.
    ids = [
        a_message_notify_log_order(recorded=200 - n, sent=n) for n in range(55)
    ]  # two pages of 50
    client = signed_in(notify_app, COORDINATOR)

    seen: list[tuple[datetime, str]] = []
    page = 1
    while True:
        response = client.get(f"/staff/log?page={page}")
        assert response.status_code == 200
        found = rows(response.get_data(as_text=True))
        if not found or (seen and found[-1] == seen[-1]):
            break
        seen += found
        page += 1
    assert page == 3
    assert [message_id for _, message_id in seen] == [str(i) for i in ids]
    times = [at for at, _ in seen]
    assert times == sorted(times, reverse=True)
