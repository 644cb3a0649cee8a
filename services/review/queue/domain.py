"""The review queue: proposals from intake, scored, ordered, claimed, discussed.

Plain functions over a SQLAlchemy session; the caller owns the transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.review import audit
from services.review.models import (
    QueueAdjustment,
    QueuedProposal,
    ReviewComment,
    ScoringConfig,
    StaffConflict,
)
from services.review.queue.scoring import DEFAULT_WEIGHTS, ScoringRules, score_proposal
from shared.agency import load_agency_profile
from shared.config import load_settings
from shared.db import utcnow
from shared.domain import Acting
from shared.events import Event
from shared.proposal import ProposalSchema

OPEN_STATES = ("waiting", "in_review", "resubmitted")
DECIDED_STATES = ("approved", "declined")


class QueueError(Exception):
    """A queue action that cannot be done; the message is for the reviewer."""


class Conflicted(QueueError):
    pass


class Forbidden(QueueError):
    """The acting staff member may not do this."""


def acting_for(session: Session, staff: Any) -> Acting:
    """The signed-in staff member (``g.staff``) as the domain sees them: identity, roles and
    the organizations they declared a conflict of interest with. Every review view and API
    builds its ``Acting`` here."""
    conflicts = session.scalars(
        select(StaffConflict.organization_key).where(
            StaffConflict.staff_id == uuid.UUID(str(staff.user_id))
        )
    )
    return Acting.of(staff, conflicts=conflicts)


def organization_key(name: str) -> str:
    """A name folded for conflict matching: case, punctuation and spacing do not count."""
    return " ".join(re.findall(r"[a-z0-9]+", name.lower()))


def today() -> date:
    return datetime.now(load_settings().agency_timezone).date()


# -- configuration ----------------------------------------------------------------------------


def current_config(session: Session) -> ScoringConfig:
    """The configuration in force; the first one is made from the agency's defaults."""
    config = session.scalars(
        select(ScoringConfig).order_by(ScoringConfig.version.desc()).limit(1)
    ).first()
    if config is None:
        profile = load_agency_profile()
        config = ScoringConfig(
            weights=dict(DEFAULT_WEIGHTS),
            priority_areas=[
                {
                    "slug": slug,
                    "label": label,
                    "effective_from": None,
                    "effective_to": None,
                    "weight": None,
                }
                for slug, label in profile.priority_areas.items()
            ],
            note="Initial configuration from the agency's defaults",
            created_by="system",
        )
        session.add(config)
        session.flush()
    return config


def rules_of(config: ScoringConfig) -> ScoringRules:
    return ScoringRules.from_json(config.version, config.weights, config.priority_areas)


def save_config(
    session: Session,
    *,
    weights: dict[str, int],
    priority_areas: list[dict[str, Any]],
    note: str,
    actor: str,
) -> ScoringConfig:
    """A new configuration version; every open proposal is rescored with it."""
    previous = current_config(session)
    config = ScoringConfig(
        weights={**DEFAULT_WEIGHTS, **weights},
        priority_areas=priority_areas,
        note=note,
        created_by=actor,
    )
    session.add(config)
    session.flush()
    audit.record(
        session,
        entity_type="scoring_config",
        entity_id=config.version,
        action="configuration changed",
        actor=actor,
        note=note,
        changes=audit.diff_fields(
            {"weights": previous.weights, "priority_areas": previous.priority_areas},
            {"weights": config.weights, "priority_areas": config.priority_areas},
        ),
    )
    rescore_open(session, config)
    return config


def rescore_open(session: Session, config: ScoringConfig) -> int:
    rules = rules_of(config)
    on = today()
    hazards = load_agency_profile().hazards
    count = 0
    for queued in session.scalars(
        select(QueuedProposal).where(QueuedProposal.status.in_(OPEN_STATES)).with_for_update()
    ):
        _apply_score(queued, rules, on, hazards)
        count += 1
    return count


def _apply_score(
    queued: QueuedProposal, rules: ScoringRules, on: date, hazards: dict[str, str]
) -> None:
    score = score_proposal(queued.data, rules, on=on, hazard_labels=hazards)
    queued.score = score.total
    queued.score_lines = [line.as_json() for line in score.lines]
    queued.score_version = score.version


# -- arrivals ---------------------------------------------------------------------------------


def receive_submitted_proposal(session: Session, *, event: Event) -> QueuedProposal:
    """Store review's copy of a (re)submitted proposal, scored; a newer version replaces an
    older one and keeps the older data for the diff."""
    payload = event.payload
    proposal = payload["proposal"]
    data = ProposalSchema().dump(proposal)  # stored as JSON: plain types
    queued = session.scalars(
        select(QueuedProposal)
        .where(QueuedProposal.proposal_id == payload["proposal_id"])
        .with_for_update()
    ).first()
    resubmission = queued is not None
    if queued is None:
        queued = QueuedProposal(
            proposal_id=payload["proposal_id"], adjustment=0, adjustment_reason=""
        )
        session.add(queued)
    elif queued.version >= payload["version"]:
        return queued  # an older version arriving late changes nothing
    else:
        queued.previous_data = queued.data
    queued.reference = payload["reference"]
    queued.status = "resubmitted" if resubmission else "waiting"
    queued.organization_name = proposal["organization"]["name"]
    queued.organization_type = proposal["organization"]["type"]
    queued.state = proposal["organization"]["address"]["state"]
    queued.requested_division = proposal["requested_division"]
    queued.version = payload["version"]
    queued.data = data
    queued.submitted_at = payload["submitted_at"]
    queued.status_url = payload.get("status_url") or ""
    _apply_score(queued, rules_of(current_config(session)), today(), load_agency_profile().hazards)
    session.flush()
    audit.record(
        session,
        entity_type="proposal",
        entity_id=queued.proposal_id,
        action="resubmitted" if resubmission else "submitted",
        actor="applicant",
        changes=audit.diff_fields(queued.previous_data or {}, data) if resubmission else {},
        note=f"version {queued.version}",
    )
    return queued


def changes_since_last_version(queued: QueuedProposal) -> dict[str, list[Any]]:
    if queued.previous_data is None:
        return {}
    return audit.diff_fields(queued.previous_data, queued.data)


# -- reading the queue ------------------------------------------------------------------------


@dataclass
class QueueFilters:
    status: list[str] = field(default_factory=lambda: list(OPEN_STATES))
    division: str = ""
    hazard: str = ""
    state: str = ""
    organization_type: str = ""
    search: str = ""


def conflicted_keys(session: Session, staff_id: uuid.UUID | None) -> set[str]:
    if staff_id is None:
        return set()
    return set(
        session.scalars(
            select(StaffConflict.organization_key).where(StaffConflict.staff_id == staff_id)
        )
    )


def is_conflicted(session: Session, queued: QueuedProposal, staff_id: uuid.UUID | None) -> bool:
    return organization_key(queued.organization_name) in conflicted_keys(session, staff_id)


def list_queue(
    session: Session,
    *,
    filters: QueueFilters | None = None,
    viewer_id: uuid.UUID | None = None,
) -> list[QueuedProposal]:
    """Proposals in priority order (score plus any adjustment), oldest first among equals.
    Proposals of organizations the viewer declared a conflict with are left out."""
    filters = filters or QueueFilters()
    query = select(QueuedProposal)
    if filters.status:
        query = query.where(QueuedProposal.status.in_(filters.status))
    if filters.division:
        query = query.where(QueuedProposal.requested_division == filters.division)
    if filters.state:
        query = query.where(QueuedProposal.state == filters.state.upper())
    if filters.organization_type:
        query = query.where(QueuedProposal.organization_type == filters.organization_type)
    if filters.hazard:
        query = query.where(QueuedProposal.data["hazards"].contains([filters.hazard]))
    if filters.search:
        escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(QueuedProposal.organization_name.ilike(f"%{escaped}%", escape="\\"))
    query = query.order_by(
        (QueuedProposal.score + QueuedProposal.adjustment).desc(),
        QueuedProposal.submitted_at,
        QueuedProposal.reference,
    )
    hidden = conflicted_keys(session, viewer_id)
    return [
        q for q in session.scalars(query) if organization_key(q.organization_name) not in hidden
    ]


def get_for(
    session: Session, proposal_id: uuid.UUID, *, viewer_id: uuid.UUID | None
) -> QueuedProposal:
    queued = session.scalars(
        select(QueuedProposal).where(QueuedProposal.proposal_id == proposal_id)
    ).first()
    if queued is None:
        raise QueueError("No such proposal.")
    if is_conflicted(session, queued, viewer_id):
        raise Conflicted("You declared a conflict of interest with this organization.")
    return queued


# -- actions ----------------------------------------------------------------------------------


def adjust_priority(
    session: Session,
    *,
    proposal_id: uuid.UUID,
    points: int,
    reason: str,
    actor: str,
    viewer_id: uuid.UUID | None = None,
) -> QueuedProposal:
    """Move a proposal up (points > 0) or down the queue; a written reason is required."""
    reason = reason.strip()
    if not reason:
        raise QueueError("Give the reason for moving this proposal.")
    if not -1000 <= points <= 1000:
        raise QueueError("Move by at most 1000 points either way.")
    queued = get_for(session, proposal_id, viewer_id=viewer_id)
    before = {"adjustment": queued.adjustment, "adjustment_reason": queued.adjustment_reason}
    queued.adjustment = points
    queued.adjustment_reason = reason
    session.add(QueueAdjustment(proposal_id=proposal_id, points=points, reason=reason, by=actor))
    audit.record(
        session,
        entity_type="proposal",
        entity_id=proposal_id,
        action="priority adjusted",
        actor=actor,
        note=reason,
        changes=audit.diff_fields(before, {"adjustment": points, "adjustment_reason": reason}),
    )
    return queued


def assign(
    session: Session,
    *,
    proposal_id: uuid.UUID,
    reviewer_id: uuid.UUID | None,
    reviewer_conflicts: set[str],
    acting: Acting,
) -> QueuedProposal:
    """Give a proposal to a reviewer, or take it back (``reviewer_id`` None).

    A reviewer claims a proposal nobody holds (assigns it to themself) and gives back their
    own; only the Coordinator assigns to others, takes over or drops someone else's claim.
    Nobody is assigned a proposal of an organization they declared a conflict with.
    """
    queued = session.scalars(
        select(QueuedProposal).where(QueuedProposal.proposal_id == proposal_id).with_for_update()
    ).first()
    if queued is None:
        raise QueueError("No such proposal.")
    if not acting.is_coordinator:
        if reviewer_id is not None and reviewer_id != acting.staff_id:
            raise Forbidden("Only the Coordinator assigns proposals to others.")
        if queued.assigned_to not in (None, acting.staff_id):
            raise Forbidden(
                "Another reviewer has claimed this proposal; only the Coordinator can "
                "reassign it or take it back."
            )
    actor = acting.email
    if reviewer_id is not None and organization_key(queued.organization_name) in reviewer_conflicts:
        raise Conflicted(
            "This reviewer declared a conflict of interest with this "
            "organization and cannot be assigned its proposal."
        )
    before = {
        "assigned_to": str(queued.assigned_to) if queued.assigned_to else None,
        "status": queued.status,
    }
    queued.assigned_to = reviewer_id
    queued.assigned_at = utcnow() if reviewer_id else None
    if reviewer_id and queued.status in ("waiting", "resubmitted"):
        queued.status = "in_review"
    audit.record(
        session,
        entity_type="proposal",
        entity_id=proposal_id,
        action="assigned",
        actor=actor,
        changes=audit.diff_fields(
            before,
            {"assigned_to": str(reviewer_id) if reviewer_id else None, "status": queued.status},
        ),
    )
    return queued


def add_comment(
    session: Session, *, proposal_id: uuid.UUID, author_id: uuid.UUID, author_name: str, body: str
) -> ReviewComment:
    body = body.strip()
    if not body:
        raise QueueError("Write something before saving the comment.")
    if len(body) > 10000:
        raise QueueError("Keep comments to 10,000 characters.")
    get_for(session, proposal_id, viewer_id=author_id)
    comment = ReviewComment(
        proposal_id=proposal_id, author_id=author_id, author_name=author_name, body=body
    )
    session.add(comment)
    audit.record(
        session,
        entity_type="proposal",
        entity_id=proposal_id,
        action="commented",
        actor=author_name,
    )
    return comment


def comments(session: Session, proposal_id: uuid.UUID) -> list[ReviewComment]:
    return list(
        session.scalars(
            select(ReviewComment)
            .where(ReviewComment.proposal_id == proposal_id)
            .order_by(ReviewComment.at)
        )
    )


def declare_conflict(
    session: Session, *, staff_id: uuid.UUID, organization_name: str, actor: str
) -> StaffConflict:
    key = organization_key(organization_name)
    if not key:
        raise QueueError("Name the organization.")
    existing = session.scalars(
        select(StaffConflict).where(
            StaffConflict.staff_id == staff_id, StaffConflict.organization_key == key
        )
    ).first()
    if existing:
        return existing
    conflict = StaffConflict(
        staff_id=staff_id, organization_name=organization_name.strip(), organization_key=key
    )
    session.add(conflict)
    # A reviewer tied to an organization gives back its proposals.
    for queued in session.scalars(
        select(QueuedProposal).where(QueuedProposal.assigned_to == staff_id)
    ):
        if organization_key(queued.organization_name) == key:
            queued.assigned_to = None
            queued.assigned_at = None
    audit.record(
        session,
        entity_type="staff",
        entity_id=staff_id,
        action="conflict declared",
        actor=actor,
        note=organization_name.strip(),
    )
    return conflict


@dataclass(frozen=True)
class Progress:
    waiting: int
    in_review: int
    decided: int
    average_days_to_decision: float | None


def progress(session: Session) -> Progress:
    def count(states: tuple[str, ...]) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(QueuedProposal)
                .where(QueuedProposal.status.in_(states))
            )
            or 0
        )

    average = session.scalar(
        select(
            func.avg(func.extract("epoch", QueuedProposal.decided_at - QueuedProposal.submitted_at))
        ).where(QueuedProposal.decided_at.is_not(None))
    )
    return Progress(
        waiting=count(("waiting", "resubmitted")),
        in_review=count(("in_review",)),
        decided=count(DECIDED_STATES),
        average_days_to_decision=round(float(average) / 86400, 1) if average else None,
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
        "priority": queued.priority,
        "score": queued.score,
        "score_version": queued.score_version,
        "score_explanation": queued.score_lines,
        "adjustment": queued.adjustment,
        "adjustment_reason": queued.adjustment_reason,
        "assigned_to": str(queued.assigned_to) if queued.assigned_to else None,
    }
