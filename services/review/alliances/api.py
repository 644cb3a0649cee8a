"""Signed alliances over HTTP: the staff JSON API and the public directory.

Staff (``bp``, under ``/api/v1``; OpenAPI with the rest of review's API): an alliance's page
data, its work plan (milestones), the implementation team's meetings and the documents,
renewal, conclusion, termination and the Ambassador designation, roundtables and their
memberships. Every endpoint needs a staff sign-in (shared/staff_auth.py): the Coordinator
decides on agreements and keeps the roundtables; the Coordinator or the alliance's own
liaison changes its work plan, meetings and documents; any staff member reads. Bad input
answers 422 with ``{"errors": {field: [messages]}}`` and saves nothing.

Public (``public_bp``, no sign-in): the directory, as a page at ``/directory`` and as JSON
at ``/api/v1/directory`` (``/review/directory`` behind the gateway).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, NoReturn

from flask import Blueprint as FlaskBlueprint
from flask import g, jsonify, make_response, render_template
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from services.review.alliances import domain as agreements
from services.review.directory import domain as directory
from services.review.models import Alliance
from services.review.queue.domain import today as agency_today
from services.review.roundtables import domain as roundtables
from services.review.worker import database, outbox
from shared.agency import load_agency_profile
from shared.staff_auth import staff_api_required

bp = Blueprint(
    "agreement_api",
    __name__,
    url_prefix="/api/v1",
    description="Signed alliances: work plan, renewal, conclusion, termination, "
    "Ambassadors, roundtables (staff).",
)
public_bp = FlaskBlueprint("directory", __name__)

COORDINATOR = ("coordinator",)
WORK_PLAN_EDITORS = ("coordinator", "liaison")  # a liaison only on their own alliances


# -- what the endpoints accept ----------------------------------------------------------------


def _required(message: str) -> dict[str, Any]:
    return {"required": message, "null": message}


class AllianceQuery(Schema):
    status = fields.String(load_default="", validate=validate.OneOf(["", *agreements.STATUSES]))
    mine = fields.Boolean(load_default=False)


class MilestoneIn(Schema):
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Give the milestone a title."),
    )
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    target_date = fields.Date(required=True, error_messages=_required("Give the target date."))
    responsible = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Say who is responsible: a person, the partner or the agency."),
    )
    status = fields.String(
        load_default="planned", validate=validate.OneOf(list(agreements.MILESTONE_STATUSES))
    )
    done_on = fields.Date(load_default=None, allow_none=True)


class MilestoneChangeIn(Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10000))
    target_date = fields.Date()
    responsible = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(list(agreements.MILESTONE_STATUSES)))
    done_on = fields.Date(allow_none=True)


class MeetingIn(Schema):
    met_on = fields.Date(required=True, error_messages=_required("Give the date the team met."))
    note = fields.String(load_default="", validate=validate.Length(max=10000))


class DocumentIn(Schema):
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Give the document a title."),
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(agreements.DOCUMENT_KINDS)),
        error_messages=_required("Choose agreement, work_plan or other."),
    )
    url = fields.String(load_default="", validate=validate.Length(max=2000))
    description = fields.String(load_default="", validate=validate.Length(max=10000))


class RenewalIn(Schema):
    signing_date = fields.Date(
        required=True, error_messages=_required("Give the new signing date.")
    )
    term_years = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(
            agreements.RENEWAL_TERM_YEARS.start,
            agreements.RENEWAL_TERM_YEARS.stop - 1,
            error="A renewal is for {min} to {max} years.",
        ),
        error_messages=_required("Give the term in years."),
    )


class ConclusionIn(Schema):
    concluded_on = fields.Date(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=10000))


class TerminationIn(Schema):
    notice_date = fields.Date(
        required=True, error_messages=_required("Give the date of the written notice.")
    )
    reason = fields.String(load_default="", validate=validate.Length(max=10000))


class AmbassadorIn(Schema):
    designated_on = fields.Date(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=10000))


class RoundtableIn(Schema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Give the roundtable's name."),
    )
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    starts_on = fields.Date(required=True, error_messages=_required("Give the day it starts."))
    ends_on = fields.Date(load_default=None, allow_none=True)
    parent_id = fields.UUID(load_default=None, allow_none=True)


class RoundtableChangeIn(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10000))
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)


class MembershipIn(Schema):
    alliance_id = fields.UUID(required=True, error_messages=_required("Choose the alliance."))
    joined_on = fields.Date(required=True, error_messages=_required("Give the day it joined."))


class DepartureIn(Schema):
    left_on = fields.Date(required=True, error_messages=_required("Give the last day as a member."))


# -- helpers ----------------------------------------------------------------------------------


def _viewer() -> uuid.UUID:
    return uuid.UUID(str(g.staff.user_id))


def _actor() -> str:
    return str(g.staff.email)


def _fail(err: agreements.AgreementError) -> NoReturn:
    abort(err.status, errors=err.errors())
    raise AssertionError("abort returned")  # pragma: no cover


@contextmanager
def answering_errors() -> Iterator[None]:
    """A domain refusal becomes its HTTP answer: 422, 409, 404 or 403 with the message."""
    try:
        yield
    except agreements.AgreementError as err:
        _fail(err)


def _editable(session: Session, alliance_id: uuid.UUID) -> Alliance:
    """The alliance, if the signed-in person may change its work plan."""
    with answering_errors():
        alliance = agreements.get_alliance(session, alliance_id)
        agreements.check_work_plan_editor(alliance, staff_id=_viewer(), roles=set(g.staff.roles))
    return alliance


def _page(session: Session, alliance_id: uuid.UUID) -> dict[str, Any]:
    with answering_errors():
        return agreements.alliance_page(session, alliance_id=alliance_id)


# -- alliances --------------------------------------------------------------------------------


@bp.route("/alliances")
@staff_api_required()
@bp.arguments(AllianceQuery, location="query")
def list_alliances(args: dict[str, Any]) -> Any:
    """Signed alliances by partner name; ``mine=true``: those you are the liaison of."""
    with database.transaction() as session:
        rows = agreements.list_alliances(
            session,
            status=args["status"] or None,
            liaison_id=_viewer() if args["mine"] else None,
        )
        return {"alliances": [agreements.summary(a) for a in rows], "count": len(rows)}


@bp.route("/alliances/<uuid:alliance_id>")
@staff_api_required()
def get_alliance(alliance_id: uuid.UUID) -> Any:
    """The alliance's page: agreement, goals, team, terms, work plan, meetings, documents,
    roundtables, Ambassador eligibility and history."""
    with database.transaction() as session:
        return _page(session, alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/milestones")
class Milestones(MethodView):
    @staff_api_required()
    def get(self, alliance_id: uuid.UUID) -> Any:
        """The work plan's milestones by target date."""
        with database.transaction() as session:
            with answering_errors():
                agreements.get_alliance(session, alliance_id)
            return {
                "milestones": [
                    agreements.milestone_data(m)
                    for m in agreements.milestones(session, alliance_id)
                ]
            }

    @staff_api_required(*WORK_PLAN_EDITORS)
    @bp.arguments(MilestoneIn)
    def post(self, body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
        """Add a milestone (Coordinator, or the alliance's liaison)."""
        with database.transaction() as session:
            _editable(session, alliance_id)
            with answering_errors():
                milestone = agreements.add_milestone(
                    session, alliance_id=alliance_id, actor=_actor(), **body
                )
            return agreements.milestone_data(milestone), 201


@bp.route("/alliances/<uuid:alliance_id>/milestones/<uuid:milestone_id>", methods=["PATCH"])
@staff_api_required(*WORK_PLAN_EDITORS)
@bp.arguments(MilestoneChangeIn)
def change_milestone(body: dict[str, Any], alliance_id: uuid.UUID, milestone_id: uuid.UUID) -> Any:
    """Change a milestone: its status (done: with the day, today if none), dates, text."""
    with database.transaction() as session:
        _editable(session, alliance_id)
        with answering_errors():
            milestone = agreements.update_milestone(
                session,
                alliance_id=alliance_id,
                milestone_id=milestone_id,
                changes=body,
                actor=_actor(),
            )
        return agreements.milestone_data(milestone)


@bp.route("/alliances/<uuid:alliance_id>/meetings")
class Meetings(MethodView):
    @staff_api_required()
    def get(self, alliance_id: uuid.UUID) -> Any:
        """The days the implementation team met."""
        with database.transaction() as session:
            with answering_errors():
                agreements.get_alliance(session, alliance_id)
            return {
                "meetings": [
                    agreements.meeting_data(m) for m in agreements.meetings(session, alliance_id)
                ]
            }

    @staff_api_required(*WORK_PLAN_EDITORS)
    @bp.arguments(MeetingIn)
    def post(self, body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
        """Record a day the team met."""
        with database.transaction() as session:
            _editable(session, alliance_id)
            with answering_errors():
                meeting = agreements.add_meeting(
                    session, alliance_id=alliance_id, actor=_actor(), **body
                )
            return agreements.meeting_data(meeting), 201


@bp.route("/alliances/<uuid:alliance_id>/meetings/<uuid:meeting_id>", methods=["DELETE"])
@staff_api_required(*WORK_PLAN_EDITORS)
def remove_meeting(alliance_id: uuid.UUID, meeting_id: uuid.UUID) -> Any:
    """Remove a meeting recorded by mistake (the history keeps it)."""
    with database.transaction() as session:
        _editable(session, alliance_id)
        with answering_errors():
            agreements.remove_meeting(
                session, alliance_id=alliance_id, meeting_id=meeting_id, actor=_actor()
            )
    return "", 204


@bp.route("/alliances/<uuid:alliance_id>/documents")
class Documents(MethodView):
    @staff_api_required()
    def get(self, alliance_id: uuid.UUID) -> Any:
        """The alliance's documents: links or descriptions."""
        with database.transaction() as session:
            with answering_errors():
                agreements.get_alliance(session, alliance_id)
            return {
                "documents": [
                    agreements.document_data(d) for d in agreements.documents(session, alliance_id)
                ]
            }

    @staff_api_required(*WORK_PLAN_EDITORS)
    @bp.arguments(DocumentIn)
    def post(self, body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
        """Add a document: a link (https://...) or a description of where it is kept."""
        with database.transaction() as session:
            _editable(session, alliance_id)
            with answering_errors():
                document = agreements.add_document(
                    session, alliance_id=alliance_id, actor=_actor(), **body
                )
            return agreements.document_data(document), 201


@bp.route("/alliances/<uuid:alliance_id>/documents/<uuid:document_id>", methods=["DELETE"])
@staff_api_required(*WORK_PLAN_EDITORS)
def remove_document(alliance_id: uuid.UUID, document_id: uuid.UUID) -> Any:
    """Remove a document entry (the history keeps it)."""
    with database.transaction() as session:
        _editable(session, alliance_id)
        with answering_errors():
            agreements.remove_document(
                session, alliance_id=alliance_id, document_id=document_id, actor=_actor()
            )
    return "", 204


# -- decisions on the agreement (the Coordinator) ---------------------------------------------


@bp.route("/alliances/<uuid:alliance_id>/renewal", methods=["POST"])
@staff_api_required(*COORDINATOR)
@bp.arguments(RenewalIn)
def renew(body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
    """Renew an active alliance: a new signing date and a term of two to five years."""
    with database.transaction() as session:
        with answering_errors():
            agreements.renew(
                session, alliance_id=alliance_id, actor=_actor(), outbox=outbox, **body
            )
        return _page(session, alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/conclusion", methods=["POST"])
@staff_api_required(*COORDINATOR)
@bp.arguments(ConclusionIn)
def conclude(body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
    """Conclude the alliance (today, or the past day given)."""
    with database.transaction() as session:
        with answering_errors():
            agreements.conclude(
                session, alliance_id=alliance_id, actor=_actor(), outbox=outbox, **body
            )
        return _page(session, alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/termination", methods=["POST"])
@staff_api_required(*COORDINATOR)
@bp.arguments(TerminationIn)
def terminate(body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
    """Terminate with 30 days' written notice: it ends on the notice date + 30 days."""
    with database.transaction() as session:
        with answering_errors():
            agreements.terminate(
                session, alliance_id=alliance_id, actor=_actor(), outbox=outbox, **body
            )
        return _page(session, alliance_id)


@bp.route("/alliances/<uuid:alliance_id>/ambassador")
class Ambassador(MethodView):
    @staff_api_required()
    def get(self, alliance_id: uuid.UUID) -> Any:
        """Whether the partner may be named an Ambassador today, and why."""
        with database.transaction() as session:
            with answering_errors():
                alliance = agreements.get_alliance(session, alliance_id)
            eligible, reason = agreements.ambassador_eligibility(
                session, alliance, on=agency_today()
            )
            return {"eligible": eligible, "reason": reason}

    @staff_api_required(*COORDINATOR)
    @bp.arguments(AmbassadorIn)
    def post(self, body: dict[str, Any], alliance_id: uuid.UUID) -> Any:
        """Name the partner an Ambassador (after an initial term and one renewal)."""
        with database.transaction() as session:
            with answering_errors():
                agreements.designate_ambassador(
                    session, alliance_id=alliance_id, actor=_actor(), outbox=outbox, **body
                )
            return _page(session, alliance_id)


# -- roundtables ------------------------------------------------------------------------------


def _roundtable_entry(session: Session, roundtable: Any) -> dict[str, Any]:
    return {
        **roundtables.roundtable_data(roundtable),
        "memberships": [
            roundtables.membership_data(m, a)
            for m, a in roundtables.memberships(session, roundtable_id=roundtable.id)
        ],
    }


@bp.route("/roundtables")
class Roundtables(MethodView):
    @staff_api_required()
    def get(self) -> Any:
        """Every roundtable (each followed by its workgroups) with all memberships."""
        with database.transaction() as session:
            return {
                "roundtables": [
                    _roundtable_entry(session, r) for r in roundtables.list_roundtables(session)
                ]
            }

    @staff_api_required(*COORDINATOR)
    @bp.arguments(RoundtableIn)
    def post(self, body: dict[str, Any]) -> Any:
        """A roundtable, or with ``parent_id`` a workgroup of one."""
        with database.transaction() as session:
            with answering_errors():
                roundtable = roundtables.create_roundtable(session, actor=_actor(), **body)
            return roundtables.roundtable_data(roundtable), 201


@bp.route("/roundtables/<uuid:roundtable_id>", methods=["PATCH"])
@staff_api_required(*COORDINATOR)
@bp.arguments(RoundtableChangeIn)
def change_roundtable(body: dict[str, Any], roundtable_id: uuid.UUID) -> Any:
    """Rename, describe, or change the dates (an end date closes it)."""
    with database.transaction() as session:
        with answering_errors():
            roundtable = roundtables.update_roundtable(
                session, roundtable_id=roundtable_id, changes=body, actor=_actor()
            )
        return roundtables.roundtable_data(roundtable)


@bp.route("/roundtables/<uuid:roundtable_id>/memberships")
class Memberships(MethodView):
    @staff_api_required()
    def get(self, roundtable_id: uuid.UUID) -> Any:
        """Who is and was in the roundtable, with the dates."""
        with database.transaction() as session:
            with answering_errors():
                roundtable = roundtables.get_roundtable(session, roundtable_id)
            return _roundtable_entry(session, roundtable)

    @staff_api_required(*COORDINATOR)
    @bp.arguments(MembershipIn)
    def post(self, body: dict[str, Any], roundtable_id: uuid.UUID) -> Any:
        """An alliance joins the roundtable."""
        with database.transaction() as session:
            with answering_errors():
                membership = roundtables.join(
                    session, roundtable_id=roundtable_id, actor=_actor(), **body
                )
                alliance = agreements.get_alliance(session, membership.alliance_id)
            return roundtables.membership_data(membership, alliance), 201


@bp.route("/roundtables/<uuid:roundtable_id>/memberships/<uuid:membership_id>", methods=["PATCH"])
@staff_api_required(*COORDINATOR)
@bp.arguments(DepartureIn)
def leave_roundtable(
    body: dict[str, Any], roundtable_id: uuid.UUID, membership_id: uuid.UUID
) -> Any:
    """The alliance leaves: ``left_on`` is its last day as a member."""
    with database.transaction() as session:
        with answering_errors():
            membership = roundtables.leave(
                session,
                roundtable_id=roundtable_id,
                membership_id=membership_id,
                actor=_actor(),
                **body,
            )
            alliance = agreements.get_alliance(session, membership.alliance_id)
        return roundtables.membership_data(membership, alliance)


# -- the public directory ---------------------------------------------------------------------


def _public(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


def _directory() -> dict[str, Any]:
    with database.transaction() as session:
        return directory.public_directory(session)


@public_bp.get("/api/v1/directory")
def directory_json() -> Response:
    """Active alliances and Ambassadors, and the roundtables with their members (public)."""
    return _public(jsonify(_directory()))


@public_bp.app_template_filter("long_date")
def long_date(value: str | None) -> str:
    """``2026-03-01`` as ``March 1, 2026``."""
    return date.fromisoformat(value).strftime("%B %-d, %Y") if value else ""


@public_bp.get("/directory")
def directory_page() -> Response:
    page = render_template(
        "directory/directory.html", directory=_directory(), profile=load_agency_profile()
    )
    return _public(make_response(page))
