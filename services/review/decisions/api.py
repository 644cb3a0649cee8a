"""The decisions' staff JSON API: prepare a decision on a proposal, list those waiting, release
them together. Every endpoint needs a staff sign-in; writes need the ``X-CSRFToken`` header.

Who may prepare, see and release is decided in decisions/domain.py (``release`` says who may
release); refusals become the JSON error answer in shared/web.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from services.review import people
from services.review.decisions import domain as decisions
from services.review.decisions.schemas import (
    DecisionIn,
    DecisionPreparedOut,
    PendingDecisionsOut,
    ReleasedOut,
    ReleaseIn,
)
from services.review.worker import database, outbox
from shared.config import load_settings
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "decisions_api",
    __name__,
    url_prefix="/api/v1",
    description="Decisions on proposals: prepared one by one, released together (staff).",
)

DECIDERS = tuple(sorted(people.DECIDERS))


@bp.route("/proposals/<uuid:proposal_id>/decision", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(DecisionIn)
@bp.response(201, DecisionPreparedOut)
def prepare_decision(body: dict[str, Any], proposal_id: uuid.UUID) -> Any:
    """Prepare a decision (request changes, decline, approve) to release later."""
    session, acting = request_session(database), current_acting()
    return decisions.prepare(
        session, acting=acting, proposal_id=proposal_id, settings=load_settings(), **body
    )


@bp.route("/decisions")
@staff_api_required(*DECIDERS)
@bp.response(200, PendingDecisionsOut)
def list_decisions() -> Any:
    """Decisions prepared and not yet released (less those you are in conflict with)."""
    session, acting = request_session(database), current_acting()
    return {"decisions": [p.decision for p in decisions.pending(session, acting=acting)]}


@bp.route("/decisions/release", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(ReleaseIn)
@bp.response(200, ReleasedOut)
def release_decisions(body: dict[str, Any]) -> Any:
    """Release prepared decisions together: all of them, or none if one cannot go."""
    session, acting = request_session(database), current_acting()
    released = decisions.release(
        session, acting=acting, decision_ids=body["decision_ids"], outbox=outbox
    )
    return {"released": [d.id for d in released]}
