"""Review's staff JSON API: the queue, scoring configuration, claims, comments, conflicts
and decisions. OpenAPI: ``/api/v1/openapi.json`` (``/review/api/v1/openapi.json`` behind the
gateway). Every endpoint needs a staff sign-in (shared/staff_auth.py); writes need the
``X-CSRFToken`` header.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from services.review import audit
from services.review.decisions import domain as decisions
from services.review.queue import domain as queue
from services.review.queue.schemas import (
    AdjustmentIn,
    AssignmentIn,
    CommentIn,
    ConflictIn,
    DecisionIn,
    QueueQuery,
    ReleaseIn,
    ScoringConfigIn,
)
from services.review.staff import domain as accounts
from services.review.worker import database, outbox
from shared.proposal import flatten_errors
from shared.staff_auth import staff_api_required

bp = Blueprint(
    "review_api",
    __name__,
    url_prefix="/api/v1",
    description="The review queue and decisions (staff).",
)

DECIDERS = ("coordinator", "reviewer")


def _viewer() -> uuid.UUID:
    return uuid.UUID(str(g.staff.user_id))


def _actor() -> str:
    return str(g.staff.email)


def liaison_lookup(session: Session) -> decisions.LiaisonLookup:
    def lookup(staff_id: uuid.UUID) -> decisions.Liaison | None:
        try:
            person = accounts.get_staff(session, user_id=staff_id)
        except accounts.AccountError:
            return None
        if not person.active or "liaison" not in person.roles:
            return None
        return decisions.Liaison(id=person.id, name=person.name, email=person.email)

    return lookup


def _domain_errors(err: Exception) -> None:
    if isinstance(err, queue.Conflicted | queue.Forbidden):
        abort(403, errors={"_request": [str(err)]})
    if isinstance(err, ValidationError):
        abort(422, errors=flatten_errors(err.messages))
    if isinstance(err, queue.QueueError):
        message = str(err)
        abort(404 if message == "No such proposal." else 409, errors={"_request": [message]})
    raise err


@bp.route("/queue")
@staff_api_required()
@bp.arguments(QueueQuery, location="query")
def get_queue(args: dict[str, Any]) -> Any:
    """Proposals in priority order, each score explained; conflicts hidden from you."""
    filters = queue.QueueFilters(
        status=args["status"] or list(queue.OPEN_STATES),
        division=args["division"],
        hazard=args["hazard"],
        state=args["state"],
        organization_type=args["organization_type"],
        search=args["q"],
    )
    with database.transaction() as session:
        entries = [
            queue.queue_entry(q)
            for q in queue.list_queue(session, filters=filters, viewer_id=_viewer())
        ]
    return {"proposals": entries, "count": len(entries)}


@bp.route("/progress")
@staff_api_required()
def get_progress() -> Any:
    """Review progress figures."""
    with database.transaction() as session:
        figures = queue.progress(session)
    return {
        "waiting": figures.waiting,
        "in_review": figures.in_review,
        "decided": figures.decided,
        "average_days_to_decision": figures.average_days_to_decision,
    }


@bp.route("/proposals/<uuid:proposal_id>")
@staff_api_required()
def get_proposal(proposal_id: uuid.UUID) -> Any:
    """A proposal with its score, changes since the last version, comments and history."""
    with database.transaction() as session:
        try:
            queued = queue.get_for(session, proposal_id, viewer_id=_viewer())
        except queue.QueueError as err:
            _domain_errors(err)
            raise
        return {
            **queue.queue_entry(queued),
            "proposal": queued.data,
            "changes_since_last_version": queue.changes_since_last_version(queued),
            "comments": [
                {"author": c.author_name, "body": c.body, "at": c.at.isoformat()}
                for c in queue.comments(session, proposal_id)
            ],
            "history": [
                {
                    "action": e.action,
                    "actor": e.actor,
                    "changes": e.changes,
                    "note": e.note,
                    "at": e.at.isoformat(),
                }
                for e in audit.history(session, entity_type="proposal", entity_id=proposal_id)
            ],
        }


@bp.route("/proposals/<uuid:proposal_id>/adjustment", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(AdjustmentIn)
def adjust(body: dict[str, Any], proposal_id: uuid.UUID) -> Any:
    """Move a proposal up (positive points) or down, with a written reason."""
    with database.transaction() as session:
        try:
            queued = queue.adjust_priority(
                session,
                proposal_id=proposal_id,
                points=body["points"],
                reason=body["reason"],
                actor=_actor(),
                viewer_id=_viewer(),
            )
        except queue.QueueError as err:
            _domain_errors(err)
            raise
        return queue.queue_entry(queued)


@bp.route("/proposals/<uuid:proposal_id>/assignment", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(AssignmentIn)
def assign(body: dict[str, Any], proposal_id: uuid.UUID) -> Any:
    """Claim a proposal (your own id), or, as Coordinator, assign it to a reviewer."""
    reviewer_id = body["reviewer_id"]
    with database.transaction() as session:
        if reviewer_id is not None:
            try:
                person = accounts.get_staff(session, user_id=reviewer_id)
            except accounts.AccountError:
                abort(422, errors={"reviewer_id": ["There is no such staff account."]})
            if not person.active or not {"reviewer", "coordinator"} & set(person.roles):
                abort(422, errors={"reviewer_id": ["Choose an active reviewer."]})
        try:
            queued = queue.assign(
                session,
                proposal_id=proposal_id,
                reviewer_id=reviewer_id,
                reviewer_conflicts=queue.conflicted_keys(session, reviewer_id),
                acting=queue.Acting.of(g.staff),
            )
        except queue.QueueError as err:
            _domain_errors(err)
            raise
        return queue.queue_entry(queued)


@bp.route("/proposals/<uuid:proposal_id>/comments", methods=["POST"])
@staff_api_required()
@bp.arguments(CommentIn)
def comment(body: dict[str, Any], proposal_id: uuid.UUID) -> Any:
    """An internal comment (never shown to the applicant)."""
    with database.transaction() as session:
        try:
            saved = queue.add_comment(
                session,
                proposal_id=proposal_id,
                author_id=_viewer(),
                author_name=str(g.staff.name),
                body=body["body"],
            )
        except queue.QueueError as err:
            _domain_errors(err)
            raise
        return {"author": saved.author_name, "body": saved.body}, 201


@bp.route("/conflicts")
class Conflicts(MethodView):
    @staff_api_required()
    def get(self) -> Any:
        """The organizations you declared ties to."""
        with database.transaction() as session:
            keys = sorted(queue.conflicted_keys(session, _viewer()))
        return {"organizations": keys}

    @staff_api_required()
    @bp.arguments(ConflictIn)
    def post(self, body: dict[str, Any]) -> Any:
        """Declare a tie to an organization: its proposals are hidden from you."""
        with database.transaction() as session:
            try:
                conflict = queue.declare_conflict(
                    session,
                    staff_id=_viewer(),
                    organization_name=body["organization_name"],
                    actor=_actor(),
                )
            except queue.QueueError as err:
                _domain_errors(err)
                raise
            return {"organization_name": conflict.organization_name}, 201


@bp.route("/scoring-config")
class ScoringConfiguration(MethodView):
    @staff_api_required()
    def get(self) -> Any:
        """The scoring configuration in force."""
        with database.transaction() as session:
            config = queue.current_config(session)
            return {
                "version": config.version,
                "weights": config.weights,
                "priority_areas": config.priority_areas,
                "note": config.note,
                "created_by": config.created_by,
                "created_at": config.created_at.isoformat(),
            }

    @staff_api_required("coordinator")
    @bp.arguments(ScoringConfigIn)
    def post(self, body: dict[str, Any]) -> Any:
        """A new configuration version; open proposals are rescored with it."""
        areas = [
            {
                **area,
                "effective_from": area["effective_from"].isoformat()
                if area["effective_from"]
                else None,
                "effective_to": area["effective_to"].isoformat() if area["effective_to"] else None,
            }
            for area in body["priority_areas"]
        ]
        slugs = [area["slug"] for area in areas]
        if len(set(slugs)) != len(slugs):
            abort(422, errors={"priority_areas": ["Each priority area only once."]})
        with database.transaction() as session:
            config = queue.save_config(
                session,
                weights=body["weights"],
                priority_areas=areas,
                note=body["note"],
                actor=_actor(),
            )
            return {"version": config.version}, 201


@bp.route("/proposals/<uuid:proposal_id>/decision", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(DecisionIn)
def prepare_decision(body: dict[str, Any], proposal_id: uuid.UUID) -> Any:
    """Prepare a decision (request changes, decline, approve) to release later."""
    with database.transaction() as session:
        try:
            decision = decisions.prepare(
                session,
                proposal_id=proposal_id,
                kind=body["kind"],
                details=body["details"],
                actor=_actor(),
                viewer_id=_viewer(),
                liaisons=liaison_lookup(session),
            )
        except (queue.QueueError, ValidationError) as err:
            _domain_errors(err)
            raise
        return {"id": str(decision.id), "kind": decision.kind, "details": decision.details}, 201


@bp.route("/decisions")
@staff_api_required(*DECIDERS)
def list_decisions() -> Any:
    """Decisions prepared and not yet released."""
    with database.transaction() as session:
        return {
            "decisions": [
                {
                    "id": str(d.id),
                    "proposal_id": str(d.proposal_id),
                    "kind": d.kind,
                    "details": d.details,
                    "prepared_by": d.prepared_by,
                    "prepared_at": d.prepared_at.isoformat(),
                }
                for d in decisions.pending(session, viewer_id=_viewer())
            ]
        }


@bp.route("/decisions/release", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(ReleaseIn)
def release_decisions(body: dict[str, Any]) -> Any:
    """Release prepared decisions together: all of them, or none if one cannot go."""
    with database.transaction() as session:
        try:
            released = decisions.release(
                session,
                decision_ids=body["decision_ids"],
                actor=_actor(),
                viewer_id=_viewer(),
                outbox=outbox,
                liaisons=liaison_lookup(session),
            )
        except queue.QueueError as err:
            _domain_errors(err)
            raise
        return {"released": [str(d.id) for d in released]}
