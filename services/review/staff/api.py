"""The staff JSON API (``/api/v1/staff``): who is signed in, one's own password, and the
Coordinator's management of accounts. Described in the review OpenAPI document.

Each endpoint loads the action's input schema (schemas.py, the same one the page loads),
calls the domain function (domain.py), which decides who may do it, and dumps the answer.
Refusals are answered in shared/web.py; writes need the ``X-CSRFToken`` header.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask_smorest import Blueprint

from services.review.staff import domain as accounts
from services.review.staff.schemas import (
    ActiveIn,
    MeOut,
    OfficeIn,
    OwnPasswordIn,
    PasswordIn,
    PeopleOut,
    PersonIn,
    PersonOut,
    RolesIn,
)
from services.review.worker import database
from shared.config import load_settings
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "staff_api",
    __name__,
    url_prefix="/api/v1/staff",
    description="Staff accounts: who is signed in, and the Coordinator's management of them.",
)


@bp.route("/me", methods=["GET"])
@staff_api_required()
@bp.response(200, MeOut)
def api_me() -> Any:
    """Who is signed in, and the token to send as ``X-CSRFToken`` on non-GET calls."""
    return g.staff


@bp.route("/me/password", methods=["POST"])
@staff_api_required()
@bp.arguments(OwnPasswordIn)
@bp.response(204)
def api_change_password(change: dict[str, Any]) -> None:
    """Change your own password, giving the current one; your other sessions end."""
    accounts.change_password(
        request_session(database),
        acting=current_acting(),
        current_password=change["current_password"],
        new_password=change["new_password"],
        keep_session=g.staff.id,
        settings=load_settings(),
    )


@bp.route("", methods=["GET"])
@staff_api_required("coordinator")
@bp.response(200, PeopleOut)
def api_people() -> Any:
    """Every staff account, active people first (Coordinator)."""
    staff = accounts.list_people(request_session(database), acting=current_acting())
    return {"staff": staff, "count": len(staff)}


@bp.route("", methods=["POST"])
@staff_api_required("coordinator")
@bp.arguments(PersonIn)
@bp.response(201, PersonOut)
def api_add_person(person: dict[str, Any]) -> Any:
    """Add a person (Coordinator). With ``password``, they can sign in with it at once;
    without it, they are e-mailed an invitation with a single-use link to set their own."""
    return accounts.create_staff(
        request_session(database), acting=current_acting(), settings=load_settings(), **person
    )


@bp.route("/<uuid:user_id>/invitation", methods=["POST"])
@staff_api_required("coordinator")
@bp.response(200, PersonOut)
def api_resend_invitation(user_id: uuid.UUID) -> Any:
    """E-mail an invited person a new invitation; the older links stop working
    (Coordinator). 409 once they have set a password, or while the account is deactivated."""
    session = request_session(database)
    return accounts.resend_invitation(
        session, acting=current_acting(), user_id=user_id, settings=load_settings()
    )


@bp.route("/<uuid:user_id>/roles", methods=["POST"])
@staff_api_required("coordinator")
@bp.arguments(RolesIn)
@bp.response(200, PersonOut)
def api_change_roles(change: dict[str, Any], user_id: uuid.UUID) -> Any:
    """Change a person's roles; their sessions end (Coordinator)."""
    session = request_session(database)
    return accounts.change_roles(
        session, acting=current_acting(), user_id=user_id, roles=change["roles"]
    )


@bp.route("/<uuid:user_id>/office", methods=["POST"])
@staff_api_required("coordinator")
@bp.arguments(OfficeIn)
@bp.response(200, PersonOut)
def api_change_office(change: dict[str, Any], user_id: uuid.UUID) -> Any:
    """Move a person to another of the Coordinator's offices; their sessions end
    (Coordinator)."""
    session = request_session(database)
    return accounts.change_office(
        session, acting=current_acting(), user_id=user_id, office=change["office"]
    )


@bp.route("/<uuid:user_id>/active", methods=["POST"])
@staff_api_required("coordinator")
@bp.arguments(ActiveIn)
@bp.response(200, PersonOut)
def api_set_active(change: dict[str, Any], user_id: uuid.UUID) -> Any:
    """Deactivate an account, ending its sessions, or reactivate it (Coordinator)."""
    session = request_session(database)
    return accounts.set_active(
        session, acting=current_acting(), user_id=user_id, active=change["active"]
    )


@bp.route("/<uuid:user_id>/password", methods=["POST"])
@staff_api_required("coordinator")
@bp.arguments(PasswordIn)
@bp.response(204)
def api_set_password(new: dict[str, Any], user_id: uuid.UUID) -> None:
    """Give someone else a new password; their sessions end (Coordinator)."""
    session = request_session(database)
    accounts.set_password(
        session,
        acting=current_acting(),
        user_id=user_id,
        password=new["password"],
        settings=load_settings(),
    )
