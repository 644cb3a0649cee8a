"""Builders for signed alliances and the staff who act on them (the tests of review's
alliances, roundtables and public directory).

An alliance is signed the way the system signs one: its proposal arrives, a reviewer prepares
the approval and the Coordinator releases it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select

from services.review.alliances.models import Alliance
from services.review.decisions import domain as decisions
from services.review.queue import domain as queue
from services.review.worker import database, outbox
from shared.domain import Acting
from shared.events import new_event
from shared.proposal import ProposalSchema
from shared.testing import example_proposal


def staff(email: str, *roles: str, staff_id: uuid.UUID | None = None) -> Acting:
    """A staff member as the domain sees them (no account needed)."""
    return Acting(
        staff_id=staff_id or uuid.uuid4(),
        email=email,
        roles=frozenset(roles),
        name=email.split("@")[0].title(),
    )


LIAISON = decisions.Liaison(id=uuid.uuid4(), name="Lee Liaison", email="lee@agency.example")
OTHER_LIAISON = decisions.Liaison(id=uuid.uuid4(), name="Ola Other", email="ola@agency.example")
COORDINATOR = staff("cora@agency.example", "coordinator")
REVIEWER = staff("riley@agency.example", "reviewer")


def as_staff(liaison: decisions.Liaison) -> Acting:
    """The liaison acting (a liaison's ``staff_id`` is the alliance's ``liaison_id``)."""
    return staff(liaison.email, "liaison", staff_id=liaison.id)


def signed_alliance(
    name: str = "Michigan Roofing Contractors Association",
    *,
    signing_date: date = date(2024, 3, 1),
    term_years: int = 2,
    liaison: decisions.Liaison = LIAISON,
    website: str = "https://example.org",
) -> uuid.UUID:
    """A proposal arrives, is approved with ``liaison`` and released: the alliance's id."""
    data = example_proposal()
    data["organization"]["name"] = name
    data["organization"]["website"] = website
    proposal_id = uuid.uuid4()
    event = new_event(
        "proposal.submitted",
        producer="intake",
        payload={
            "proposal_id": proposal_id,
            "reference": f"AP-2026-{uuid.uuid4().int % 100000:05d}",
            "version": 1,
            "submitted_at": datetime.now(UTC),
            "status_url": "",
            "proposal": ProposalSchema().load(data),
        },
    )

    def liaisons(staff_id: uuid.UUID) -> decisions.Liaison | None:
        return liaison if staff_id == liaison.id else None

    with database.transaction() as session:
        queue.receive_submitted_proposal(session, event=event)
    with database.transaction() as session:
        decision = decisions.prepare(
            session,
            acting=REVIEWER,
            proposal_id=proposal_id,
            kind="approved",
            details={
                "division": "construction_safety_health",
                "liaison_id": str(liaison.id),
                "signing_date": signing_date.isoformat(),
                "term_years": term_years,
            },
            liaisons=liaisons,
        )
    with database.transaction() as session:
        decisions.release(
            session,
            acting=COORDINATOR,
            decision_ids=[decision.id],
            outbox=outbox,
            liaisons=liaisons,
        )
    with database.transaction() as session:
        return session.scalars(select(Alliance.id).where(Alliance.proposal_id == proposal_id)).one()
