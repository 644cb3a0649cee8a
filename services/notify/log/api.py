"""Notify's staff JSON API: the message log, and the held decision messages staff preview,
edit, hold and release (one by one or in bulk). OpenAPI: ``/api/v1/openapi.json``.

Every rule is in ``services/notify/log/domain.py``; the role each route asks for is only the
sign-in gate."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.notify.log import domain
from services.notify.log.schemas import (
    ChosenMessagesIn,
    CopyOut,
    EditIn,
    HeldAgainOut,
    MessagesOut,
    MessagesQuery,
    MessageWithBodyOut,
    ReleasedOut,
)
from services.notify.worker import database
from shared.api import ErrorSchema
from shared.config import load_agency_profile, load_settings
from shared.staff_auth import staff_api_required
from shared.web import current_acting, request_session

bp = Blueprint(
    "notify_api",
    __name__,
    url_prefix="/api/v1",
    description="Messages: the log, and decision messages held for release.",
)

REFUSED = "Not allowed: your role, or a conflict of interest you declared."
NO_SUCH = "There is no such message."
INVALID = 'Bad input: ``{"errors": {field path: [messages]}}``'


@bp.route("/messages")
@staff_api_required(*domain.READERS)
@bp.arguments(MessagesQuery, location="query")
@bp.response(200, MessagesOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(422, schema=ErrorSchema, description=INVALID)
def list_messages(args: dict[str, Any]) -> Any:
    """The message log, filtered.

    Messages about a proposal (``?proposal_id=``, or ``?reference=AP-…`` for the proposal and
    its alliance: receipt, decision, welcome, reminders, reports), to a recipient (``?to=``,
    any part of the address), in one status (``?status=failed``) or found by search words
    (``?q=``: part of a reference, ``ap-2026-1``, of the subject or of the partner
    organization's name, case aside); filters combine. Sent, waiting, held or failed (and why:
    ``last_error``, the server's last answer, and ``failure_reason``, the same in words).
    Newest first, in the order of the staff pages' log (``/staff/log``): by the time shown,
    ``sent_at`` or, until a message is sent, ``created_at``; messages with the same time by
    ``id``. At most the newest 500, only yours: the Coordinator's
    all, a reviewer's those about proposals, a liaison's those of their own alliances (and the
    proposals they came from); none you are in conflict with. A partner's signed link never
    shows: each reads "[partner's signed link, hidden]"."""
    session, acting = request_session(database), current_acting()
    found = domain.message_log(
        session,
        acting,
        proposal_id=args.get("proposal_id"),
        reference=args.get("reference"),
        to_address=args.get("to_address"),
        status=args.get("status"),
        search=args.get("search"),
    )
    return {"messages": found}


@bp.route("/held")
@staff_api_required(*domain.RELEASERS)
@bp.response(200, MessagesOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
def list_held() -> Any:
    """Decision messages waiting for staff to release them."""
    session, acting = request_session(database), current_acting()
    return {"messages": domain.held_messages(session, acting)}


class WaitingOut(Schema):
    waiting = fields.Integer(
        required=True,
        metadata={"description": "How many held messages wait for your release."},
    )


@bp.route("/held/waiting")
@staff_api_required(*domain.RELEASERS)
@bp.response(200, WaitingOut, headers={"Cache-Control": {"schema": {"type": "string"}}})
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
def count_held() -> Any:
    """How many decision messages wait for your release.

    Those ``/api/v1/held`` lists: within what you may read, none you are in conflict with.
    Every staff page asks it for the count beside "Messages" in the staff navigation
    (shared/static/site/staff-nav.js); never cached."""
    session, acting = request_session(database), current_acting()
    return {"waiting": domain.waiting_count(session, acting)}, 200, {"Cache-Control": "no-store"}


@bp.route("/messages/<uuid:message_id>")
@staff_api_required(*domain.READERS)
@bp.response(200, MessageWithBodyOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_SUCH)
def preview(message_id: uuid.UUID) -> Any:
    """A message with its text and HTML, as it will go or went out, the partner's signed
    links hidden (the e-mail keeps them). 403 for a message that is not yours."""
    session, acting = request_session(database), current_acting()
    return domain.get_message(session, acting, message_id)


@bp.route("/messages/<uuid:message_id>", methods=["PUT"])
@staff_api_required(*domain.RELEASERS)
@bp.arguments(EditIn)
@bp.response(200, MessageWithBodyOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_SUCH)
@bp.alt_response(409, schema=ErrorSchema, description="The message is no longer held.")
@bp.alt_response(422, schema=ErrorSchema, description=INVALID)
def edit(body: dict[str, Any], message_id: uuid.UUID) -> Any:
    """Rewrite a held message before it goes."""
    session, acting = request_session(database), current_acting()
    return domain.edit_held(
        session,
        acting,
        message_id=message_id,
        settings=load_settings(),
        profile=load_agency_profile(),
        **body,
    )


@bp.route("/held/release", methods=["POST"])
@staff_api_required(*domain.RELEASERS)
@bp.arguments(ChosenMessagesIn)
@bp.response(200, ReleasedOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(422, schema=ErrorSchema, description=INVALID)
def release(body: dict[str, Any]) -> Any:
    """Send held messages now (the ids that are not held are passed over)."""
    session, acting = request_session(database), current_acting()
    return {"released": domain.release_held(session, acting, message_ids=body["message_ids"])}


@bp.route("/held/hold", methods=["POST"])
@staff_api_required(*domain.RELEASERS)
@bp.arguments(ChosenMessagesIn)
@bp.response(200, HeldAgainOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(422, schema=ErrorSchema, description=INVALID)
def hold(body: dict[str, Any]) -> Any:
    """Take back released messages that have not gone out yet."""
    session, acting = request_session(database), current_acting()
    return {"held": domain.hold_again(session, acting, message_ids=body["message_ids"])}


@bp.route("/messages/<uuid:message_id>/resend", methods=["POST"])
@staff_api_required(*domain.RELEASERS)
@bp.response(201, CopyOut)
@bp.alt_response(403, schema=ErrorSchema, description=REFUSED)
@bp.alt_response(404, schema=ErrorSchema, description=NO_SUCH)
@bp.alt_response(409, schema=ErrorSchema, description="A held message is released, not resent.")
def resend(message_id: uuid.UUID) -> Any:
    """Send a copy of a message again (for example after a failure)."""
    session, acting = request_session(database), current_acting()
    return domain.resend(session, acting, message_id=message_id)
