"""The queue's staff JSON API: the queue, a proposal, claims, comments, priority moves,
conflicts of interest, progress figures and the scoring configuration. OpenAPI:
``/api/v1/openapi.json`` (``/review/api/v1/openapi.json`` behind the gateway). Every endpoint
needs a staff sign-in (shared/staff_auth.py); writes need the ``X-CSRFToken`` header.

Each endpoint calls one domain function (queue/domain.py), which decides who may; refusals
become the JSON error answer in shared/web.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.review import people
from services.review.queue import domain as queue
from services.review.queue.schemas import (
    AdjustmentIn,
    AssignmentIn,
    AssignmentsIn,
    CommentIn,
    CommentSavedOut,
    ConflictDeclaredOut,
    ConflictIn,
    ConflictsOut,
    ProgressOut,
    ProposalFileOut,
    QueueEntryOut,
    QueueOut,
    QueueQuery,
    ScoringConfigIn,
    ScoringConfigOut,
    ScoringSavedOut,
)
from services.review.worker import database, outbox
from shared.config import load_settings
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "review_api",
    __name__,
    url_prefix="/api/v1",
    description="The review queue: scores, claims, comments, conflicts of interest (staff).",
)

DECIDERS = tuple(sorted(people.DECIDERS))


@bp.route("/queue")
@staff_api_required()
@bp.arguments(QueueQuery, location="query")
@bp.response(200, QueueOut)
def get_queue(args: dict[str, Any]) -> Any:
    """Proposals in priority order, each score explained; conflicts hidden from you."""
    session, acting = request_session(database), current_acting()
    found = queue.list_queue(session, acting=acting, filters=queue.QueueFilters.of(args))
    return {"proposals": found, "count": len(found)}


@bp.route("/progress")
@staff_api_required()
@bp.response(200, ProgressOut)
def get_progress() -> Any:
    """Review progress figures."""
    session, acting = request_session(database), current_acting()
    return queue.progress(session, acting=acting)


@bp.route("/proposals/<uuid:proposal_id>")
@staff_api_required()
@bp.response(200, ProposalFileOut)
def get_proposal(proposal_id: uuid.UUID) -> Any:
    """A proposal with its score, changes since the last version, comments and history."""
    session, acting = request_session(database), current_acting()
    return queue.proposal_file(session, acting=acting, proposal_id=proposal_id)


@bp.route("/proposals/<uuid:proposal_id>/adjustment", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(AdjustmentIn)
@bp.response(200, QueueEntryOut)
def adjust(body: dict[str, Any], proposal_id: uuid.UUID) -> Any:
    """Move a proposal up (positive points) or down, with a written reason."""
    session, acting = request_session(database), current_acting()
    return queue.adjust_priority(session, acting=acting, proposal_id=proposal_id, **body)


@bp.route("/proposals/<uuid:proposal_id>/assignment", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(AssignmentIn)
@bp.response(200, QueueEntryOut)
def assign(body: dict[str, Any], proposal_id: uuid.UUID) -> Any:
    """Claim a proposal (your own id) or give yours back (null); the Coordinator assigns to
    any active reviewer not in conflict with the organization (who is told by e-mail), takes
    over or drops anyone's claim. 409 once the proposal is decided."""
    session, acting = request_session(database), current_acting()
    return queue.assign(
        session,
        acting=acting,
        proposal_id=proposal_id,
        reviewer_id=body["reviewer_id"],
        outbox=outbox,
    )


@bp.route("/proposals/assignments", methods=["POST"])
@staff_api_required("coordinator")
@bp.arguments(AssignmentsIn)
@bp.response(200, QueueOut)
def assign_many(body: dict[str, Any]) -> Any:
    """The Coordinator gives several proposals to one reviewer (null: back to the queue), all
    or nothing: when one cannot be assigned, none is, and the 409 answer names each that
    failed (``proposal_ids.<index>``) with the reason."""
    session, acting = request_session(database), current_acting()
    given = queue.assign_many(
        session,
        acting=acting,
        proposal_ids=body["proposal_ids"],
        reviewer_id=body["reviewer_id"],
        outbox=outbox,
    )
    return {"proposals": given, "count": len(given)}


@bp.route("/proposals/<uuid:proposal_id>/comments", methods=["POST"])
@staff_api_required()
@bp.arguments(CommentIn)
@bp.response(201, CommentSavedOut)
def comment(body: dict[str, Any], proposal_id: uuid.UUID) -> Any:
    """An internal comment (never shown to the applicant)."""
    session, acting = request_session(database), current_acting()
    return queue.add_comment(session, acting=acting, proposal_id=proposal_id, body=body["body"])


@bp.route("/conflicts")
class Conflicts(MethodView):
    @staff_api_required()
    @bp.response(200, ConflictsOut)
    def get(self) -> Any:
        """The organizations you declared ties to."""
        session, acting = request_session(database), current_acting()
        return {"organizations": queue.declared_conflicts(session, acting=acting)}

    @staff_api_required()
    @bp.arguments(ConflictIn)
    @bp.response(201, ConflictDeclaredOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Declare a tie to an organization: its proposals are hidden from you."""
        session, acting = request_session(database), current_acting()
        return queue.declare_conflict(
            session, acting=acting, organization_name=body["organization_name"], outbox=outbox
        )


@bp.route("/scoring-config")
class ScoringConfiguration(MethodView):
    @staff_api_required()
    @bp.response(200, ScoringConfigOut)
    def get(self) -> Any:
        """The scoring configuration in force."""
        session, acting = request_session(database), current_acting()
        return queue.scoring_config(session, acting=acting)

    @staff_api_required("coordinator")
    @bp.arguments(ScoringConfigIn)
    @bp.response(201, ScoringSavedOut)
    def post(self, body: dict[str, Any]) -> Any:
        """A new configuration version (the Coordinator's); open proposals are rescored."""
        session, acting = request_session(database), current_acting()
        return queue.save_config(
            session, acting=acting, today=people.today(load_settings()), **body
        )
