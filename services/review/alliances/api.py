"""Alliances over the staff JSON API (under ``/api/v1``; OpenAPI with the rest of review's
API): an alliance's page data, its work plan (milestones), the implementation team's
meetings and the documents, the signing of an approved alliance, renewal, conclusion,
termination and the Ambassador designation.

Every endpoint needs a staff sign-in (shared/staff_auth.py) and calls one function of
``alliances.domain``, which decides who may do it: any staff member reads; the Coordinator
or the alliance's own liaison changes its work plan, meetings and documents; the Coordinator
decides on the agreement. A refusal answers ``{"errors": {field: [messages]}}`` with its
status (shared/web.py) and stores nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.review import people
from services.review.alliances import domain as agreements
from services.review.alliances.schemas import (
    AllianceListOut,
    AlliancePageOut,
    AllianceQuery,
    AmbassadorEligibilityOut,
    AmbassadorIn,
    ConclusionIn,
    DocumentIn,
    DocumentListOut,
    DocumentOut,
    MeetingIn,
    MeetingListOut,
    MeetingOut,
    MilestoneChangeIn,
    MilestoneIn,
    MilestoneListOut,
    MilestoneOut,
    MoveIn,
    RenewalIn,
    SigningIn,
    TerminationIn,
)
from services.review.worker import database, outbox
from shared.config import load_settings
from shared.domain import Invalid
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "agreement_api",
    __name__,
    url_prefix="/api/v1",
    description="Alliances: work plan, meetings, documents, the signing of an approved "
    "alliance, renewal, conclusion, termination, Ambassadors (staff).",
)

KEEPERS = agreements.WORK_PLAN_KEEPERS
DECIDERS = agreements.DECIDERS


def _page(alliance_id: uuid.UUID) -> agreements.AlliancePage:
    return agreements.alliance_page(
        request_session(database),
        alliance_id=alliance_id,
        acting=current_acting(),
        today=people.today(load_settings()),
    )


# -- alliances --------------------------------------------------------------------------------


@bp.route("/alliances")
@staff_api_required()
@bp.arguments(AllianceQuery, location="query")
@bp.response(200, AllianceListOut)
def list_alliances(args: dict[str, Any]) -> Any:
    """Alliances by partner name, those of your offices and those you are the liaison of
    (``status=awaiting_signature``: those approved and not yet signed); ``mine=true``: only
    those you are the liaison of; ``office``: that office's and its offices'."""
    acting = current_acting()
    if args["office"] and args["office"] not in people.office_choices(acting):
        raise Invalid({"office": ["Choose one of your offices."]})
    rows = agreements.alliance_summaries(
        request_session(database),
        acting=acting,
        status=args["status"] or None,
        mine=args["mine"],
        office=args["office"],
    )
    return {"alliances": rows, "count": len(rows)}


@bp.route("/alliances/<uuid:alliance_id>")
@staff_api_required()
@bp.response(200, AlliancePageOut)
def get_alliance(alliance_id: uuid.UUID) -> Any:
    """The alliance's page: agreement, goals, team, terms, work plan, meetings, documents,
    roundtables, Ambassador eligibility and history."""
    return _page(alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/milestones")
class Milestones(MethodView):
    @staff_api_required()
    @bp.response(200, MilestoneListOut)
    def get(self, alliance_id: uuid.UUID) -> Any:
        """The work plan's milestones by target date."""
        session = request_session(database)
        return {
            "milestones": agreements.work_plan(
                session, alliance_id=alliance_id, acting=current_acting()
            )
        }

    @staff_api_required(*KEEPERS)
    @bp.arguments(MilestoneIn)
    @bp.response(201, MilestoneOut)
    def post(self, body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
        """Add a milestone (the Coordinator, or the alliance's liaison)."""
        return agreements.add_milestone(
            request_session(database),
            acting=current_acting(),
            alliance_id=alliance_id,
            today=people.today(load_settings()),
            **body,
        )


@bp.route("/alliances/<uuid:alliance_id>/milestones/<uuid:milestone_id>", methods=["PATCH"])
@staff_api_required(*KEEPERS)
@bp.arguments(MilestoneChangeIn)
@bp.response(200, MilestoneOut)
def change_milestone(body: dict[str, Any], alliance_id: uuid.UUID, milestone_id: uuid.UUID) -> Any:
    """Change a milestone: its status (done: with the day, today if none), dates, text."""
    return agreements.update_milestone(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        milestone_id=milestone_id,
        changes=body,
        today=people.today(load_settings()),
    )


@bp.route("/alliances/<uuid:alliance_id>/meetings")
class Meetings(MethodView):
    @staff_api_required()
    @bp.response(200, MeetingListOut)
    def get(self, alliance_id: uuid.UUID) -> Any:
        """The days the implementation team met."""
        session = request_session(database)
        return {
            "meetings": agreements.team_meetings(
                session, alliance_id=alliance_id, acting=current_acting()
            )
        }

    @staff_api_required(*KEEPERS)
    @bp.arguments(MeetingIn)
    @bp.response(201, MeetingOut)
    def post(self, body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
        """Record a day the team met."""
        return agreements.add_meeting(
            request_session(database),
            acting=current_acting(),
            alliance_id=alliance_id,
            today=people.today(load_settings()),
            **body,
        )


@bp.route("/alliances/<uuid:alliance_id>/meetings/<uuid:meeting_id>", methods=["DELETE"])
@staff_api_required(*KEEPERS)
@bp.response(204)
def remove_meeting(alliance_id: uuid.UUID, meeting_id: uuid.UUID) -> None:
    """Remove a meeting recorded by mistake (the history keeps it)."""
    agreements.remove_meeting(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        meeting_id=meeting_id,
    )


@bp.route("/alliances/<uuid:alliance_id>/documents")
class Documents(MethodView):
    @staff_api_required()
    @bp.response(200, DocumentListOut)
    def get(self, alliance_id: uuid.UUID) -> Any:
        """The alliance's documents: links or descriptions."""
        session = request_session(database)
        return {
            "documents": agreements.alliance_documents(
                session, alliance_id=alliance_id, acting=current_acting()
            )
        }

    @staff_api_required(*KEEPERS)
    @bp.arguments(DocumentIn)
    @bp.response(201, DocumentOut)
    def post(self, body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
        """Add a document: a link (https://...) or a description of where it is kept."""
        return agreements.add_document(
            request_session(database), acting=current_acting(), alliance_id=alliance_id, **body
        )


@bp.route("/alliances/<uuid:alliance_id>/documents/<uuid:document_id>", methods=["DELETE"])
@staff_api_required(*KEEPERS)
@bp.response(204)
def remove_document(alliance_id: uuid.UUID, document_id: uuid.UUID) -> None:
    """Remove a document entry (the history keeps it)."""
    agreements.remove_document(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        document_id=document_id,
    )


# -- decisions on the agreement (the Coordinator); each answers the alliance's page ----------


@bp.route("/alliances/<uuid:alliance_id>/signing", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(SigningIn)
@bp.response(200, AlliancePageOut)
def record_signing(body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
    """Record the signing of an approved alliance awaiting it: the date the agreement was
    signed (not in the future, not before the approval) and the initial term in years (the
    approval's if left out). The alliance becomes active and its report schedule starts from
    that date; 409 when it is not awaiting its signing."""
    agreements.record_signing(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return _page(alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/office", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(MoveIn)
@bp.response(200, AlliancePageOut)
def move_to_office(body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
    """Move the alliance to another of your offices, saying why (the Coordinator): audited,
    and announced as ``alliance.moved``."""
    agreements.move_to_office(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        outbox=outbox,
        **body,
    )
    return _page(alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/renewal", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(RenewalIn)
@bp.response(200, AlliancePageOut)
def renew(body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
    """Renew an active alliance: a new signing date and a term of two to five years."""
    agreements.renew(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return _page(alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/conclusion", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(ConclusionIn)
@bp.response(200, AlliancePageOut)
def conclude(body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
    """Conclude the alliance (today, or the past day given)."""
    agreements.conclude(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return _page(alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/termination", methods=["POST"])
@staff_api_required(*DECIDERS)
@bp.arguments(TerminationIn)
@bp.response(200, AlliancePageOut)
def terminate(body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
    """Terminate with 30 days' written notice: it ends on the notice date + 30 days."""
    agreements.terminate(
        request_session(database),
        acting=current_acting(),
        alliance_id=alliance_id,
        outbox=outbox,
        today=people.today(load_settings()),
        **body,
    )
    return _page(alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/ambassador")
class Ambassador(MethodView):
    @staff_api_required()
    @bp.response(200, AmbassadorEligibilityOut)
    def get(self, alliance_id: uuid.UUID) -> Any:
        """Whether the partner may be named an Ambassador today, and why."""
        return agreements.ambassador_eligibility_of(
            request_session(database),
            alliance_id=alliance_id,
            acting=current_acting(),
            on=people.today(load_settings()),
        )

    @staff_api_required(*DECIDERS)
    @bp.arguments(AmbassadorIn)
    @bp.response(200, AlliancePageOut)
    def post(self, body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
        """Name the partner an Ambassador (after an initial term and one renewal)."""
        agreements.designate_ambassador(
            request_session(database),
            acting=current_acting(),
            alliance_id=alliance_id,
            outbox=outbox,
            today=people.today(load_settings()),
            **body,
        )
        return _page(alliance_id)
