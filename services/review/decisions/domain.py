"""Decisions on proposals: request changes, decline, approve. Prepared one by one, released
one by one or together; each release changes the proposal and announces it in one
transaction (the decision e-mails wait in notify for staff to release them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import audit
from services.review.models import Alliance, PreparedDecision, QueuedProposal
from services.review.queue.domain import (
    OPEN_STATES,
    Conflicted,
    QueueError,
    conflicted_keys,
    get_for,
    organization_key,
)
from shared.agency import load_agency_profile
from shared.config import load_settings
from shared.db import utcnow
from shared.events import new_event
from shared.outbox import Outbox

KINDS = ("changes_requested", "declined", "approved")


@dataclass(frozen=True)
class Liaison:
    id: uuid.UUID
    name: str
    email: str


LiaisonLookup = Callable[[uuid.UUID], Liaison | None]


def initial_term_years() -> int:
    return load_settings().review_initial_term_years  # REVIEW_INITIAL_TERM_YEARS


def add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def term_end(signing_date: date, term_years: int) -> date:
    return add_years(signing_date, term_years) - timedelta(days=1)


class ChangesRequestedSchema(Schema):
    message = fields.String(
        required=True,
        validate=validate.Length(min=1, max=10000),
        error_messages={"required": "Tell the applicant what to change."},
    )


class DeclinedSchema(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=10000),
        error_messages={"required": "Give the reason for declining."},
    )


class ApprovedSchema(Schema):
    division = fields.String(
        required=True, error_messages={"required": "Choose the lead division or office."}
    )
    liaison_id = fields.UUID(required=True, error_messages={"required": "Choose the liaison."})
    signing_date = fields.Date(required=True, error_messages={"required": "Give the signing date."})
    term_years = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 5, error="A term of 1 to 5 years."),
    )
    message = fields.String(load_default="", validate=validate.Length(max=10000))


SCHEMAS: dict[str, type[Schema]] = {
    "changes_requested": ChangesRequestedSchema,
    "declined": DeclinedSchema,
    "approved": ApprovedSchema,
}


def check_details(kind: str, details: dict[str, Any], *, liaisons: LiaisonLookup) -> dict[str, Any]:
    """The decision's details, checked; raises ValidationError with field messages."""
    if kind not in SCHEMAS:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(KINDS)}."]})
    loaded: dict[str, Any] = SCHEMAS[kind]().load(details)
    if kind == "approved":
        divisions = load_agency_profile().divisions
        if loaded["division"] not in divisions:
            raise ValidationError({"division": [f"Choose one of: {', '.join(divisions)}."]})
        if liaisons(loaded["liaison_id"]) is None:
            raise ValidationError(
                {"liaison_id": ["Choose an active staff member who is a liaison."]}
            )
        loaded["term_years"] = loaded["term_years"] or initial_term_years()
        loaded["liaison_id"] = str(loaded["liaison_id"])
        loaded["signing_date"] = loaded["signing_date"].isoformat()
    return loaded


def prepare(
    session: Session,
    *,
    proposal_id: uuid.UUID,
    kind: str,
    details: dict[str, Any],
    actor: str,
    viewer_id: uuid.UUID | None,
    liaisons: LiaisonLookup,
) -> PreparedDecision:
    """Write a decision to release later; it replaces an unreleased one for the proposal."""
    queued = get_for(session, proposal_id, viewer_id=viewer_id)
    if queued.status not in OPEN_STATES:
        raise QueueError("This proposal is not waiting for a decision.")
    checked = check_details(kind, details, liaisons=liaisons)
    for earlier in session.scalars(
        select(PreparedDecision).where(
            PreparedDecision.proposal_id == proposal_id, PreparedDecision.released_at.is_(None)
        )
    ):
        session.delete(earlier)
    decision = PreparedDecision(
        proposal_id=proposal_id,
        version=queued.version,
        kind=kind,
        details=checked,
        prepared_by=actor,
    )
    session.add(decision)
    session.flush()
    audit.record(
        session,
        entity_type="proposal",
        entity_id=proposal_id,
        action=f"decision prepared: {kind}",
        actor=actor,
        changes={k: [None, v] for k, v in checked.items()},
    )
    return decision


def pending(session: Session, *, viewer_id: uuid.UUID | None) -> list[PreparedDecision]:
    """Decisions prepared and not released, less those on proposals of an organization the
    viewer declared a conflict with (``viewer_id`` None: no one's conflicts)."""
    hidden = conflicted_keys(session, viewer_id)
    rows = session.execute(
        select(PreparedDecision, QueuedProposal.organization_name)
        .join(QueuedProposal, QueuedProposal.proposal_id == PreparedDecision.proposal_id)
        .where(PreparedDecision.released_at.is_(None))
        .order_by(PreparedDecision.prepared_at)
    )
    return [decision for decision, name in rows if organization_key(name) not in hidden]


def release(
    session: Session,
    *,
    decision_ids: list[uuid.UUID],
    actor: str,
    viewer_id: uuid.UUID | None,
    outbox: Outbox,
    liaisons: LiaisonLookup,
) -> list[PreparedDecision]:
    """Carry out prepared decisions together: all of them or, on any problem, none.

    Nobody releases a decision on a proposal of an organization they declared a conflict
    with (``viewer_id`` None: no one's conflicts).
    """
    conflicts = conflicted_keys(session, viewer_id)
    released = []
    for decision_id in decision_ids:
        decision = session.scalars(
            select(PreparedDecision).where(PreparedDecision.id == decision_id).with_for_update()
        ).first()
        if decision is None or decision.released_at is not None:
            raise QueueError("A decision in the selection was already released or removed.")
        queued = session.scalars(
            select(QueuedProposal)
            .where(QueuedProposal.proposal_id == decision.proposal_id)
            .with_for_update()
        ).one()
        if organization_key(queued.organization_name) in conflicts:
            raise Conflicted(
                f"You declared a conflict of interest with {queued.organization_name}: "
                "another reviewer must release this decision."
            )
        if queued.status not in OPEN_STATES or queued.version != decision.version:
            raise QueueError(
                f"{queued.reference} changed since the decision was prepared "
                "(for example, it was resubmitted): prepare it again."
            )
        _carry_out(session, queued, decision, actor=actor, outbox=outbox, liaisons=liaisons)
        decision.released_at = utcnow()
        decision.released_by = actor
        released.append(decision)
    return released


def _applicant(queued: QueuedProposal) -> dict[str, Any]:
    contact = queued.data.get("contact", {})
    return {
        "contact_name": contact.get("name", ""),
        "contact_email": contact["email"],
        "organization_name": queued.organization_name,
        "status_url": queued.status_url,
    }


def _carry_out(
    session: Session,
    queued: QueuedProposal,
    decision: PreparedDecision,
    *,
    actor: str,
    outbox: Outbox,
    liaisons: LiaisonLookup,
) -> None:
    now = utcnow()
    details = decision.details
    before = {"status": queued.status}
    common = {
        "proposal_id": queued.proposal_id,
        "reference": queued.reference,
        "version": queued.version,
        **_applicant(queued),
    }
    if decision.kind == "changes_requested":
        queued.status = "changes_requested"
        outbox.add(
            session,
            new_event(
                "proposal.changes_requested",
                producer="review",
                payload={**common, "message": details["message"], "requested_at": now},
            ),
        )
    elif decision.kind == "declined":
        queued.status = "declined"
        queued.decided_at = now
        outbox.add(
            session,
            new_event(
                "proposal.declined",
                producer="review",
                payload={**common, "reason": details["reason"], "decided_at": now},
            ),
        )
    else:
        queued.status = "approved"
        queued.decided_at = now
        alliance = _sign(session, queued, details, liaisons=liaisons)
        division_label = load_agency_profile().divisions.get(alliance.division, alliance.division)
        outbox.add(
            session,
            new_event(
                "proposal.approved",
                producer="review",
                payload={
                    **common,
                    "alliance_id": alliance.id,
                    "division": alliance.division,
                    "division_label": division_label,
                    "signing_date": alliance.signing_date,
                    "term_years": alliance.term_years,
                    "message": details.get("message", ""),
                    "decided_at": now,
                },
            ),
        )
        outbox.add(
            session,
            new_event(
                "alliance.signed",
                producer="review",
                payload=signed_payload(alliance, division_label),
            ),
        )
    audit.record(
        session,
        entity_type="proposal",
        entity_id=queued.proposal_id,
        action=f"decision released: {decision.kind}",
        actor=actor,
        changes=audit.diff_fields(before, {"status": queued.status}),
    )


def _sign(
    session: Session, queued: QueuedProposal, details: dict[str, Any], *, liaisons: LiaisonLookup
) -> Alliance:
    liaison = liaisons(uuid.UUID(details["liaison_id"]))
    if liaison is None:
        raise QueueError(
            "The chosen liaison is no longer an active liaison: prepare the decision again."
        )
    signing_date = date.fromisoformat(details["signing_date"])
    term_years = int(details["term_years"])
    alliance = Alliance(
        proposal_id=queued.proposal_id,
        reference=queued.reference,
        partner=queued.data["organization"],
        partner_name=queued.organization_name,
        contact=queued.data["contact"],
        goals=queued.data["goals"],
        hazards=queued.data.get("hazards", []),
        division=details["division"],
        liaison_id=liaison.id,
        liaison_name=liaison.name,
        liaison_email=liaison.email,
        signing_date=signing_date,
        term_years=term_years,
        ends_on=term_end(signing_date, term_years),
        renewals=0,
        status="active",
    )
    session.add(alliance)
    session.flush()
    audit.record(
        session,
        entity_type="alliance",
        entity_id=alliance.id,
        action="signed",
        actor="review",
        changes={
            "signing_date": [None, signing_date.isoformat()],
            "term_years": [None, term_years],
            "liaison": [None, liaison.name],
        },
    )
    return alliance


def signed_payload(alliance: Alliance, division_label: str) -> dict[str, Any]:
    contact = alliance.contact
    return {
        "alliance_id": alliance.id,
        "proposal_id": alliance.proposal_id,
        "reference": alliance.reference,
        "partner": alliance.partner,
        "contact": {
            "name": contact.get("name", ""),
            "title": contact.get("title", ""),
            "email": contact["email"],
            "phone": contact.get("phone", ""),
        },
        "liaison": {
            "id": alliance.liaison_id,
            "name": alliance.liaison_name,
            "email": alliance.liaison_email,
        },
        "goals": alliance.goals,
        "hazards": alliance.hazards,
        "division": alliance.division,
        "division_label": division_label,
        "signing_date": alliance.signing_date,
        "term_years": alliance.term_years,
        "ends_on": alliance.ends_on,
    }
