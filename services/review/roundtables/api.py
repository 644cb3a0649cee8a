"""Roundtables, their workgroups and memberships over the staff JSON API (under
``/api/v1``; OpenAPI with the rest of review's API).

Every endpoint needs a staff sign-in (shared/staff_auth.py) and calls one function of
``roundtables.domain``, which decides who may do it: any staff member reads; the
Coordinator keeps the roundtables and records who joins and leaves. A refusal answers
``{"errors": {field: [messages]}}`` with its status (shared/web.py) and stores nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.review import people
from services.review.roundtables import domain as roundtables
from services.review.roundtables.schemas import (
    DepartureIn,
    MembershipIn,
    RoundtableChangeIn,
    RoundtableIn,
    RoundtableListOut,
    RoundtableMemberOut,
    RoundtableOut,
    RoundtableRosterOut,
)
from services.review.worker import database
from shared.config import load_settings
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "roundtable_api",
    __name__,
    url_prefix="/api/v1",
    description="Roundtables, their workgroups, and the alliances in them (staff).",
)

KEEPERS = roundtables.KEEPERS


@bp.route("/roundtables")
class Roundtables(MethodView):
    @staff_api_required()
    @bp.response(200, RoundtableListOut)
    def get(self) -> Any:
        """Every roundtable (each followed by its workgroups) with all memberships."""
        rows = roundtables.list_roundtables(request_session(database), acting=current_acting())
        return {"roundtables": rows}

    @staff_api_required(*KEEPERS)
    @bp.arguments(RoundtableIn)
    @bp.response(201, RoundtableOut)
    def post(self, body: dict[str, Any]) -> Any:
        """A roundtable, or with ``parent_id`` a workgroup of one."""
        return roundtables.create_roundtable(
            request_session(database), acting=current_acting(), **body
        )


@bp.route("/roundtables/<uuid:roundtable_id>", methods=["PATCH"])
@staff_api_required(*KEEPERS)
@bp.arguments(RoundtableChangeIn)
@bp.response(200, RoundtableOut)
def change_roundtable(body: dict[str, Any], roundtable_id: uuid.UUID) -> Any:
    """Rename, describe, or change the dates (an end date closes it)."""
    return roundtables.update_roundtable(
        request_session(database),
        acting=current_acting(),
        roundtable_id=roundtable_id,
        changes=body,
    )


@bp.route("/roundtables/<uuid:roundtable_id>/memberships")
class Memberships(MethodView):
    @staff_api_required()
    @bp.response(200, RoundtableRosterOut)
    def get(self, roundtable_id: uuid.UUID) -> Any:
        """Who is and was in the roundtable, with the dates."""
        return roundtables.roster(
            request_session(database), acting=current_acting(), roundtable_id=roundtable_id
        )

    @staff_api_required(*KEEPERS)
    @bp.arguments(MembershipIn)
    @bp.response(201, RoundtableMemberOut)
    def post(self, body: dict[str, Any], roundtable_id: uuid.UUID) -> Any:
        """An alliance joins the roundtable."""
        return roundtables.join(
            request_session(database),
            acting=current_acting(),
            roundtable_id=roundtable_id,
            today=people.today(load_settings()),
            **body,
        )


@bp.route("/roundtables/<uuid:roundtable_id>/memberships/<uuid:membership_id>", methods=["PATCH"])
@staff_api_required(*KEEPERS)
@bp.arguments(DepartureIn)
@bp.response(200, RoundtableMemberOut)
def leave_roundtable(
    body: dict[str, Any], roundtable_id: uuid.UUID, membership_id: uuid.UUID
) -> Any:
    """The alliance leaves: ``left_on`` is its last day as a member."""
    return roundtables.leave(
        request_session(database),
        acting=current_acting(),
        roundtable_id=roundtable_id,
        membership_id=membership_id,
        today=people.today(load_settings()),
        **body,
    )
