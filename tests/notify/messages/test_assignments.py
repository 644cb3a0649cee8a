"""The reviewer hears by e-mail that the Coordinator gave them a proposal: review's
``proposal.assigned`` (in its outbox, in the assignment's transaction) reaches notify's
consumer (``notify.proposal_assigned``), whose builder (services/notify/messages/assignments.py)
records one message to the reviewer, marked as staff's, with a link to the proposal's staff
page whose text is words, never the address. A claim for oneself mails nobody."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import services.notify.tasks
from services.notify.log import domain as notify_domain
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.review.base import OutboxEvent
from services.review.queue import domain as queue
from services.review.worker import database as review_database
from services.review.worker import outbox as review_outbox
from shared.config import load_settings
from shared.events import SUBSCRIPTIONS, new_event
from tests.intake.factories import proposal
from tests.review.factories import acting_as, queued_proposal, staff_member
from tests.shared.factories import acting

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases", "redis_client")]


def consume(message: dict) -> None:
    """Run notify's consumer of the event, as its worker would."""
    [consumer] = SUBSCRIPTIONS[message["type"]]
    services.notify.tasks.celery.tasks[consumer](event=message)


def review_announced() -> list[dict]:
    with review_database.transaction() as session:
        return list(
            session.scalars(
                select(OutboxEvent.message)
                .where(OutboxEvent.type == "proposal.assigned")
                .order_by(OutboxEvent.id)
            )
        )


def recorded() -> list[Message]:
    with notify_database.transaction() as session:
        return list(session.scalars(select(Message).where(Message.template == "proposal_assigned")))


def assigned_event(proposal_id: uuid.UUID) -> dict:
    return new_event(
        "proposal.assigned",
        producer="review",
        payload={
            "proposal_id": proposal_id,
            "reference": "AP-2026-00042",
            "organization_name": "Lansing Roofers & Sons",
            "assignee": {
                "id": uuid.uuid4(),
                "name": "Riley Reviewer",
                "email": "riley@agency.example",
            },
            "assigned_by": "Cora Coordinator",
            "assigned_at": datetime(2026, 12, 6, 2, 0, tzinfo=UTC),
        },
    ).to_message()


def test_notify_subscribes_its_consumer():
    assert SUBSCRIPTIONS["proposal.assigned"] == ("notify.proposal_assigned",)


def test_the_builder_writes_to_the_reviewer_as_staff_with_a_worded_link():
    proposal_id = uuid.uuid4()
    message = assigned_event(proposal_id)
    consume(message)
    consume(message)  # a redelivery records nothing more

    [mail] = recorded()
    url = f"{load_settings().public_base_url}/review/staff/proposals/{proposal_id}"
    assert (mail.to_address, mail.recipient, mail.status) == (
        "riley@agency.example",
        "staff",
        "pending",
    )
    assert (mail.proposal_id, mail.reference, mail.organization_key) == (
        proposal_id,
        "AP-2026-00042",
        "lansing roofers sons",
    )
    assert (
        mail.subject
        == "Assigned to you: Alliance proposal AP-2026-00042 from Lansing Roofers & Sons"
    )
    assert mail.text_body.startswith("Dear Riley Reviewer,\n")
    assert "Cora Coordinator assigned you the Alliance proposal AP-2026-00042" in mail.text_body
    # 9 pm Eastern on Dec 5, in the agency's zone
    assert "on December 5, 2026 at 9:00 PM EST" in mail.text_body
    assert f"Open the proposal AP-2026-00042:\n{url}\n" in mail.text_body
    assert f'<a href="{url}"' in mail.html_body
    assert ">Open the proposal AP-2026-00042</a>" in mail.html_body
    assert f">{url}</a>" not in mail.html_body
    assert "Lansing Roofers &amp; Sons" in mail.html_body

    # reviewers read the proposals' messages in the log; the assignee's colleagues too
    with notify_database.transaction() as session:
        reader = acting("rob@agency.example", "reviewer")
        assert [m.id for m in notify_domain.message_log(session, reader)] == [mail.id]
        tied = acting("rob@agency.example", "reviewer", conflicts=["Lansing Roofers & Sons"])
        assert notify_domain.message_log(session, tied) == []


def test_the_coordinators_assignment_reaches_the_reviewer_and_a_claim_mails_nobody():
    cora = staff_member("cora@agency.example", "coordinator", name="Cora Coordinator")
    riley = staff_member("riley@agency.example", "reviewer", name="Riley Reviewer")
    rob = staff_member("rob@agency.example", "reviewer", name="Rob Reviewer")
    claimed = queued_proposal(proposal("Claimed Roofers")).proposal_id
    given = queued_proposal(proposal("Given Roofers"))

    with review_database.transaction() as session:
        queue.assign(
            session,
            acting=acting_as(rob),
            proposal_id=claimed,
            reviewer_id=rob.id,
            outbox=review_outbox,
        )
    with review_database.transaction() as session:
        queue.assign_many(
            session,
            acting=acting_as(cora),
            proposal_ids=[given.proposal_id],
            reviewer_id=riley.id,
            outbox=review_outbox,
        )
    for message in review_announced():
        consume(message)

    [mail] = recorded()
    assert mail.to_address == "riley@agency.example"
    assert mail.proposal_id == given.proposal_id
    assert mail.subject == (
        f"Assigned to you: Alliance proposal {given.reference} from Given Roofers"
    )
    assert "Cora Coordinator assigned you" in mail.text_body
