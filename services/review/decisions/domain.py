"""Decisions on proposals: request changes, decline, approve. Prepared one by one, released
one by one or together; each release changes the proposal and announces it in one
transaction (the decision e-mails wait in notify for staff to release them).

An approval creates the alliance awaiting its signing: approval and signing are two steps.
The day the agreement is signed is recorded later on the alliance (``alliances.domain.
record_signing``), and only then does the report schedule start and the partner hear that
the alliance is signed.

Who may do what is decided here, from the acting staff member: ``prepare``, ``pending`` and
``release`` each say it in their docstring. Functions take the session and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import audit, people
from services.review.alliances.models import Alliance
from services.review.decisions.details import CHOOSE_A_DECISION, CHOOSE_DECISIONS, DETAILS
from services.review.decisions.models import PreparedDecision
from services.review.queue import domain as queue
from services.review.queue.models import QueuedProposal
from services.review.staff import domain as accounts
from shared.config import Settings, load_agency_profile
from shared.db import utcnow
from shared.domain import Acting, Conflict, Forbidden, Invalid
from shared.events import new_event
from shared.outbox import Outbox
from shared.proposal import flatten_errors

LIAISON_GONE = "The chosen liaison is no longer an active liaison: prepare the decision again."


def may_decide(acting: Acting) -> bool:
    """Reviewers and the Coordinator prepare and release decisions; liaisons do not."""
    return people.may_work_on_proposals(acting)


def check_details(
    kind: str, details: Mapping[str, Any], *, liaisons: accounts.LiaisonLookup, settings: Settings
) -> dict[str, Any]:
    """The decision's details (details.py), checked, as stored; ``Invalid`` names each field.
    An approval without a term is for the initial term ``REVIEW_INITIAL_TERM_YEARS``."""
    if kind not in DETAILS:
        raise Invalid({"kind": [CHOOSE_A_DECISION]})
    try:
        loaded: dict[str, Any] = DETAILS[kind]().load(details)
    except ValidationError as err:
        raise Invalid(flatten_errors(err.messages)) from None
    if kind == "approved":
        divisions = load_agency_profile().divisions
        if loaded["division"] not in divisions:
            raise Invalid({"division": [f"Choose one of: {', '.join(divisions)}."]})
        if liaisons(loaded["liaison_id"]) is None:
            raise Invalid({"liaison_id": ["Choose an active staff member who is a liaison."]})
        loaded["term_years"] = loaded["term_years"] or settings.review_initial_term_years
        loaded["liaison_id"] = str(loaded["liaison_id"])
    return loaded


def prepare(
    session: Session,
    *,
    acting: Acting,
    proposal_id: uuid.UUID,
    kind: str,
    details: Mapping[str, Any],
    settings: Settings,
    liaisons: accounts.LiaisonLookup | None = None,
) -> PreparedDecision:
    """Write a decision to release later; it replaces an unreleased one for the proposal.

    Reviewers and the Coordinator prepare decisions, on proposals waiting for one and not of
    an organization they declared a conflict with.
    """
    people.require_decider(acting, "prepare decisions")
    queued = queue.get_for(session, proposal_id, acting=acting, lock=True)
    if queued.status not in queue.OPEN_STATES:
        raise Conflict("This proposal is not waiting for a decision.")
    checked = check_details(
        kind, details, liaisons=liaisons or accounts.staff_liaisons(session), settings=settings
    )
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
        prepared_by=acting.email,
    )
    session.add(decision)
    session.flush()
    audit.record(
        session,
        entity_type="proposal",
        entity_id=proposal_id,
        action=f"decision prepared: {kind}",
        actor=acting.email,
        changes={k: [None, v] for k, v in checked.items()},
    )
    return decision


@dataclass(frozen=True)
class PendingDecision:
    decision: PreparedDecision
    proposal: QueuedProposal
    prepared_by_name: str  # the staff member's name (``prepared_by`` is their e-mail address)


def pending(session: Session, *, acting: Acting) -> list[PendingDecision]:
    """Decisions prepared and not released, oldest first, with their proposals.

    For reviewers and the Coordinator, less those on proposals of an organization the viewer
    declared a conflict with: those are not theirs to see or release.
    """
    people.require_decider(acting, "see the decisions waiting for release")
    rows = session.execute(
        select(PreparedDecision, QueuedProposal)
        .join(QueuedProposal, QueuedProposal.proposal_id == PreparedDecision.proposal_id)
        .where(PreparedDecision.released_at.is_(None), *queue.office_conditions(acting))
        .order_by(PreparedDecision.prepared_at, PreparedDecision.id)
    )
    shown = [
        (decision, proposal)
        for decision, proposal in rows
        if not people.hidden_from(acting, proposal.organization_name)
    ]
    names = accounts.names(session, [decision.prepared_by for decision, _proposal in shown])
    return [
        PendingDecision(
            decision=decision,
            proposal=proposal,
            prepared_by_name=names.get(decision.prepared_by, decision.prepared_by),
        )
        for decision, proposal in shown
    ]


def release(
    session: Session,
    *,
    acting: Acting,
    decision_ids: Iterable[uuid.UUID],
    outbox: Outbox,
    liaisons: accounts.LiaisonLookup | None = None,
) -> list[PreparedDecision]:
    """Carry out prepared decisions together: all of them or, on any problem, none.

    Who may release a decision: a reviewer or the Coordinator (never a liaison), whoever
    prepared it, and only a decision on a proposal of an organization they have NOT declared
    a conflict of interest with (they do not even see it in ``pending``). A decision released
    already or removed, one whose proposal changed since it was prepared (resubmitted,
    decided), or an approval whose liaison is no longer an active liaison stops the whole
    release; everything is checked before anything changes.
    """
    people.require_decider(acting, "release decisions")
    chosen = list(dict.fromkeys(decision_ids))
    if not chosen:
        raise Invalid({"decision_ids": [CHOOSE_DECISIONS]})
    lookup = liaisons or accounts.staff_liaisons(session)
    releasable = [_releasable(session, acting, decision_id, lookup) for decision_id in chosen]
    # Every one may go: carry them out (nothing was changed before this point).
    for decision, queued in releasable:
        _carry_out(session, queued, decision, actor=acting.email, outbox=outbox, liaisons=lookup)
        decision.released_at = utcnow()
        decision.released_by = acting.email
    return [decision for decision, _queued in releasable]


def _releasable(
    session: Session, acting: Acting, decision_id: uuid.UUID, liaisons: accounts.LiaisonLookup
) -> tuple[PreparedDecision, QueuedProposal]:
    decision = session.scalars(
        select(PreparedDecision).where(PreparedDecision.id == decision_id).with_for_update()
    ).first()
    if decision is None or decision.released_at is not None:
        raise Conflict("A decision in the selection was already released or removed.")
    queued = session.scalars(
        select(QueuedProposal)
        .where(QueuedProposal.proposal_id == decision.proposal_id)
        .with_for_update()
    ).one()
    if people.hidden_from(acting, queued.organization_name):
        raise Forbidden(
            f"You declared a conflict of interest with {queued.organization_name}: "
            "another reviewer must release this decision."
        )
    people.check_office(acting, queued.office, f"{queued.reference}")
    if queued.status not in queue.OPEN_STATES or queued.version != decision.version:
        raise Conflict(
            f"{queued.reference} changed since the decision was prepared "
            "(for example, it was resubmitted): prepare it again."
        )
    if decision.kind == "approved" and liaisons(uuid.UUID(decision.details["liaison_id"])) is None:
        raise Conflict(LIAISON_GONE)
    return decision, queued


def _applicant(queued: QueuedProposal) -> dict[str, Any]:
    contact = queued.data.get("contact", {})
    return {
        "contact_name": contact.get("name", ""),
        "contact_email": contact["email"],
        "organization_name": queued.organization_name,
        "status_url": queued.status_url,
        "contact_language": contact.get("language", "en"),
    }


def _carry_out(
    session: Session,
    queued: QueuedProposal,
    decision: PreparedDecision,
    *,
    actor: str,
    outbox: Outbox,
    liaisons: accounts.LiaisonLookup,
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
        alliance = _create_alliance(session, queued, details, actor=actor, liaisons=liaisons)
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
                    "term_years": alliance.term_years,
                    "message": details.get("message", ""),
                    "decided_at": now,
                    # who is whose: notify lets the liaison read the proposal's messages
                    "liaison": alliance.people()["liaison"],
                    "office": alliance.office or load_agency_profile().offices.top.slug,
                },
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


def _create_alliance(
    session: Session,
    queued: QueuedProposal,
    details: dict[str, Any],
    *,
    actor: str,
    liaisons: accounts.LiaisonLookup,
) -> Alliance:
    """The approved alliance, awaiting its signing: no signing date or end of term yet, the
    initial term in years as approved (staff may change it when they record the signing)."""
    liaison = liaisons(uuid.UUID(details["liaison_id"]))
    if liaison is None:
        raise Conflict(LIAISON_GONE)
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
        office=queued.office,
        liaison_id=liaison.id,
        liaison_name=liaison.name,
        liaison_email=liaison.email,
        signing_date=None,
        term_years=term_years,
        ends_on=None,
        renewals=0,
        status="awaiting_signature",
    )
    session.add(alliance)
    session.flush()
    audit.record(
        session,
        entity_type="alliance",
        entity_id=alliance.id,
        action="approved",
        actor=actor,
        changes={
            "status": [None, "awaiting_signature"],
            "term_years": [None, term_years],
            "liaison": [None, liaison.name],
        },
    )
    return alliance
