"""Roundtables, their workgroups, memberships, meetings and products over the staff JSON API
(under ``/api/v1``; OpenAPI with the rest of review's API).

Every endpoint needs a staff sign-in (shared/staff_auth.py) and calls one function of
``roundtables.domain``, which decides who may do it: any staff member reads; the
Coordinator keeps the roundtables, records who joins and leaves, and records, changes and
removes their meetings and products. A refusal answers ``{"errors": {field: [messages]}}``
with its status (shared/web.py) and stores nothing.
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
    RoundtableMeetingIn,
    RoundtableMeetingListOut,
    RoundtableMeetingOut,
    RoundtableMemberOut,
    RoundtableOut,
    RoundtableProductChangeIn,
    RoundtableProductIn,
    RoundtableProductListOut,
    RoundtableProductOut,
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
    description="Roundtables, their workgroups, the alliances in them, and their meetings and "
    "products (staff).",
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


@bp.route("/roundtables/<uuid:roundtable_id>/meetings")
class Meetings(MethodView):
    @staff_api_required()
    @bp.response(200, RoundtableMeetingListOut)
    def get(self, roundtable_id: uuid.UUID) -> Any:
        """The days the roundtable (or workgroup) met, the earliest first."""
        return {
            "meetings": roundtables.roundtable_meetings(
                request_session(database), acting=current_acting(), roundtable_id=roundtable_id
            )
        }

    @staff_api_required(*KEEPERS)
    @bp.arguments(RoundtableMeetingIn)
    @bp.response(201, RoundtableMeetingOut)
    def post(self, body: dict[str, Any], roundtable_id: uuid.UUID) -> Any:
        """Record a day it met: within its dates, not in the future."""
        return roundtables.record_meeting(
            request_session(database),
            acting=current_acting(),
            roundtable_id=roundtable_id,
            today=people.today(load_settings()),
            **body,
        )


@bp.route("/roundtables/<uuid:roundtable_id>/meetings/<uuid:meeting_id>", methods=["DELETE"])
@staff_api_required(*KEEPERS)
@bp.response(204)
def remove_meeting(roundtable_id: uuid.UUID, meeting_id: uuid.UUID) -> None:
    """Remove a meeting recorded by mistake (the history keeps it)."""
    roundtables.remove_meeting(
        request_session(database),
        acting=current_acting(),
        roundtable_id=roundtable_id,
        meeting_id=meeting_id,
    )


@bp.route("/roundtables/<uuid:roundtable_id>/products")
class Products(MethodView):
    @staff_api_required()
    @bp.response(200, RoundtableProductListOut)
    def get(self, roundtable_id: uuid.UUID) -> Any:
        """What its members made together, the earliest published first."""
        return {
            "products": roundtables.roundtable_products(
                request_session(database), acting=current_acting(), roundtable_id=roundtable_id
            )
        }

    @staff_api_required(*KEEPERS)
    @bp.arguments(RoundtableProductIn)
    @bp.response(201, RoundtableProductOut)
    def post(self, body: dict[str, Any], roundtable_id: uuid.UUID) -> Any:
        """Record a product (a fact sheet, toolbox talk, webinar, translation or other); the
        public directory lists it unless ``public`` is false."""
        return roundtables.record_product(
            request_session(database),
            acting=current_acting(),
            roundtable_id=roundtable_id,
            today=people.today(load_settings()),
            **body,
        )


@bp.route("/roundtables/<uuid:roundtable_id>/products/<uuid:product_id>")
class Product(MethodView):
    @staff_api_required(*KEEPERS)
    @bp.arguments(RoundtableProductChangeIn)
    @bp.response(200, RoundtableProductOut)
    def patch(self, body: dict[str, Any], roundtable_id: uuid.UUID, product_id: uuid.UUID) -> Any:
        """Change some of its fields (``public`` false hides it from the directory)."""
        return roundtables.update_product(
            request_session(database),
            acting=current_acting(),
            roundtable_id=roundtable_id,
            product_id=product_id,
            changes=body,
            today=people.today(load_settings()),
        )

    @staff_api_required(*KEEPERS)
    @bp.response(204)
    def delete(self, roundtable_id: uuid.UUID, product_id: uuid.UUID) -> None:
        """Remove a product: it leaves the public directory (the history keeps it)."""
        roundtables.remove_product(
            request_session(database),
            acting=current_acting(),
            roundtable_id=roundtable_id,
            product_id=product_id,
        )
