"""Each person sees what is theirs (issue 15, findings 1 and 2).

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
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.intake import create_app as intake_app
from services.intake import tasks as intake_tasks
from services.intake.models import SentMessage
from services.intake.tokens import make_token as intake_token
from services.intake.worker import database as intake_database
from services.notify import create_app as notify_app
from services.notify.delivery import domain as delivery
from services.notify.log.domain import release_held
from services.notify.messages import domain as messages
from services.notify.models import Message, OutboxEvent
from services.notify.worker import database
from services.reporting.reports.tokens import report_url
from shared.config import load_settings
from shared.db import utcnow
from shared.events import SUBSCRIPTIONS, new_event
from shared.testing import example_proposal
from tests.factories import (
    ROOFERS,
    acting,
    conflict_declared_event,
    deliver_queued_mail,
    proposal,
    signed_in,
    submitted_event,
)
from tests.smtp import text_of

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

BAKERS = "Great Lakes Bakers Guild"
COORDINATOR_EMAIL = "coordinator@agency.example"  # COORDINATOR_EMAIL in the tests

# The people, as notify sees them signed in (conflicts come from review's event).
LIAISON_A = acting("lee@agency.example", "liaison", name="Lee Liaison")
LIAISON_B = acting("ola@agency.example", "liaison", name="Ola Other")
REVIEWER = acting("riley@agency.example", "reviewer")
COORDINATOR = acting("cora@agency.example", "coordinator")
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

    for person in (LIAISON_A, COORDINATOR):
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
        release_held(session, COORDINATOR, message_ids=[decision, welcome])
    deliver_queued_mail(redis_client, smtp_server, monkeypatch)
    [mail] = smtp_server.inbox.wait_for(
        lambda m: m["To"] == a.contact_email and "signed" in str(m["Subject"]).lower()
    )
    assert a.report_url in text_of(mail).replace("\r\n", "\n")


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
    client = signed_in(notify_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), REVIEWER)

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
    "reviewer": REVIEWER,
    "liaison A": LIAISON_A,
    "liaison B": LIAISON_B,
    "Coordinator": COORDINATOR,
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
