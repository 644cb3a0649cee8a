"""Submitting proposals: the state change and its event, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.intake.models import Proposal, ProposalVersion, reference_sequence
from shared.db import utcnow
from shared.events import new_event
from shared.outbox import Outbox


def next_reference(session: Session, *, now: datetime, timezone: Any) -> str:
    """A reference an applicant can read over the phone: ``AP-2026-00042``."""
    number = session.execute(reference_sequence.next_value()).scalar_one()
    return f"AP-{now.astimezone(timezone).year}-{number:05d}"


def submit_proposal(
    session: Session, *, data: dict[str, Any], outbox: Outbox, timezone: Any
) -> Proposal:
    """Store a validated proposal as submitted and queue ``proposal.submitted``."""
    now = utcnow()
    proposal = Proposal(
        reference=next_reference(session, now=now, timezone=timezone),
        status="submitted",
        organization_name=data["organization"]["name"],
        contact_email=data["contact"]["email"],
        data=data,
        version=1,
        created_at=now,
        submitted_at=now,
    )
    session.add(proposal)
    session.flush()
    session.add(ProposalVersion(proposal_id=proposal.id, version=1, data=data, submitted_at=now))
    outbox.add(
        session,
        new_event(
            "proposal.submitted",
            producer="intake",
            payload={
                "proposal_id": proposal.id,
                "reference": proposal.reference,
                "version": proposal.version,
                "submitted_at": now,
                "status_url": "",
                "proposal": data,
            },
        ),
    )
    return proposal
