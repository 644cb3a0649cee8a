"""What the tests of the message log's API and pages share: the people, and builders of sent
and held messages in notify's test database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update

from services.notify.models import Message
from services.notify.tasks import proposal_declined, proposal_submitted
from services.notify.worker import database
from shared.db import utcnow
from shared.events import new_event
from tests.intake.factories import proposal, submitted_event
from tests.notify.factories import held_decision_message
from tests.review.factories import LIAISON, acting_as
from tests.shared.factories import acting

LEE = acting_as(LIAISON)
CORA = acting("cora@agency.example", "coordinator", name="Cora Coordinator")
BAKERS = "Great Lakes Bakers Guild"
REVIEWER_NOTIFY_CONFLICTS = acting("reviewer@agency.example", "reviewer")
COLLEAGUE = acting("colleague@agency.example", "reviewer")
REFUSED_550 = (
    "SMTPRecipientsRefused: 550 5.1.1 <nobody@unknown.example>: Recipient address rejected"
)


def a_sent_message(**values) -> uuid.UUID:
    message_id = held_decision_message().id
    with database.transaction() as session:
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(**{"status": "sent", "attempts": 1, "sent_at": utcnow(), **values})
        )
    return message_id


def arrives(name: str) -> uuid.UUID:
    """A proposal from ``name`` reaches notify (receipt and Coordinator alert)."""
    proposal_id = uuid.uuid4()
    event = submitted_event(
        proposal(name), proposal_id=proposal_id, reference=reference(proposal_id)
    )
    proposal_submitted(event=event.to_message())
    return proposal_id


def reference(proposal_id: uuid.UUID) -> str:
    return f"AP-2026-{proposal_id.int % 100000:05d}"


def declined(proposal_id: uuid.UUID, *, organization_name: str, language: str = "en") -> uuid.UUID:
    """Review declined the proposal: its message waits in notify, held (in the contact's
    ``language``). Returns its id."""
    proposal_declined(
        event=new_event(
            "proposal.declined",
            producer="review",
            payload={
                "proposal_id": proposal_id,
                "reference": reference(proposal_id),
                "version": 1,
                "reason": "Outside our priorities this year.",
                "decided_at": datetime.now(UTC),
                "contact_name": "Dana Smith",
                "contact_email": "dana@example.org",
                "organization_name": organization_name,
                "contact_language": language,
            },
        ).to_message()
    )
    with database.transaction() as session:
        return session.scalars(
            select(Message.id).where(Message.proposal_id == proposal_id, Message.status == "held")
        ).one()


def a_held_decision(name: str, *, language: str = "en") -> tuple[uuid.UUID, uuid.UUID]:
    proposal_id = arrives(name)
    return proposal_id, declined(proposal_id, organization_name=name, language=language)


def copies_of(message_id: uuid.UUID) -> int:
    with database.transaction() as session:
        return len(
            session.scalars(
                select(Message.id).where(Message.cause.like(f"resend:{message_id}:%"))
            ).all()
        )
