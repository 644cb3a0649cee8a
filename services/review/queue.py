"""The review queue: proposals arriving from intake, listed for reviewers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.models import QueuedProposal
from shared.events import Event
from shared.proposal import ProposalSchema


def receive_submitted_proposal(session: Session, *, event: Event) -> QueuedProposal:
    """Store review's copy of a submitted proposal; a newer version replaces an older one."""
    payload = event.payload
    proposal = payload["proposal"]
    # Stored as JSON: dump back to plain types.
    data = ProposalSchema().dump(proposal)
    queued = session.scalars(
        select(QueuedProposal)
        .where(QueuedProposal.proposal_id == payload["proposal_id"])
        .with_for_update()
    ).first()
    if queued is None:
        queued = QueuedProposal(proposal_id=payload["proposal_id"])
        session.add(queued)
    elif queued.version >= payload["version"]:
        return queued  # an older version arriving late changes nothing
    queued.reference = payload["reference"]
    queued.status = "waiting"
    queued.organization_name = proposal["organization"]["name"]
    queued.organization_type = proposal["organization"]["type"]
    queued.state = proposal["organization"]["address"]["state"]
    queued.requested_division = proposal["requested_division"]
    queued.version = payload["version"]
    queued.data = data
    queued.submitted_at = payload["submitted_at"]
    session.flush()
    return queued


def list_queue(session: Session) -> list[QueuedProposal]:
    """Waiting proposals, oldest first (priority scoring comes with the review issue)."""
    return list(
        session.scalars(
            select(QueuedProposal)
            .where(QueuedProposal.status == "waiting")
            .order_by(QueuedProposal.submitted_at, QueuedProposal.reference)
        )
    )


def queue_entry(queued: QueuedProposal) -> dict[str, Any]:
    return {
        "proposal_id": str(queued.proposal_id),
        "reference": queued.reference,
        "status": queued.status,
        "organization": {
            "name": queued.organization_name,
            "type": queued.organization_type,
            "state": queued.state,
        },
        "requested_division": queued.requested_division,
        "version": queued.version,
        "submitted_at": queued.submitted_at.isoformat(),
    }
