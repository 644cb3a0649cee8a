"""Notify's staff JSON API: the message log, and the held decision messages staff preview,
edit, hold and release (one by one or in bulk). OpenAPI: ``/api/v1/openapi.json``."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from services.notify import messages
from services.notify.models import Message
from services.notify.tasks import deliver_after_commit
from services.notify.worker import database
from shared.staff_auth import staff_api_required

bp = Blueprint(
    "notify_api",
    __name__,
    url_prefix="/api/v1",
    description="Messages: the log, and decision messages held for release.",
)

STAFF = ("coordinator", "reviewer", "liaison")
RELEASERS = ("coordinator", "reviewer")
STATUSES = ("held", "pending", "sending", "sent", "failed")


class MessagesQuery(Schema):
    proposal_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(STATUSES))

    @validates_schema
    def needs_a_filter(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "proposal_id" not in data and "status" not in data:
            raise ValidationError("Give a proposal_id, a status or both.", "_schema")


class EditIn(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=300))
    text_body = fields.String(required=True, validate=validate.Length(min=1, max=50000))


class IdsIn(Schema):
    message_ids = fields.List(
        fields.UUID(), required=True, validate=validate.Length(min=1, max=500)
    )


def describe(message: Message, *, with_body: bool = False) -> dict[str, Any]:
    body = {
        "id": str(message.id),
        "template": message.template,
        "reference": message.reference,
        "proposal_id": str(message.proposal_id) if message.proposal_id else None,
        "to": message.to_address,
        "subject": message.subject,
        "status": message.status,
        "attempts": message.attempts,
        "ambiguous_deliveries": message.ambiguous_deliveries,
        "next_attempt_at": message.next_attempt_at.isoformat()
        if message.status == "pending"
        else None,
        "last_error": message.last_error,
        "edited_by": message.edited_by,
        "released_by": message.released_by,
        "created_at": message.created_at.isoformat(),
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
    }
    if with_body:
        body |= {"text_body": message.text_body, "html_body": message.html_body}
    return body


@bp.route("/messages")
@staff_api_required(*STAFF)
@bp.arguments(MessagesQuery, location="query")
def list_messages(args: dict[str, Any]) -> Any:
    """Messages recorded for a proposal, or in one status (``?status=failed``), oldest first:
    sent, waiting, held or failed (and why). At most 500."""
    query = select(Message).order_by(Message.created_at).limit(500)
    if "proposal_id" in args:
        query = query.where(Message.proposal_id == args["proposal_id"])
    if "status" in args:
        query = query.where(Message.status == args["status"])
    with database.transaction() as session:
        return {"messages": [describe(m) for m in session.scalars(query)]}


@bp.route("/held")
@staff_api_required(*RELEASERS)
def list_held() -> Any:
    """Decision messages waiting for staff to release them."""
    with database.transaction() as session:
        return {"messages": [describe(m) for m in messages.held_messages(session)]}


@bp.route("/messages/<uuid:message_id>")
@staff_api_required(*STAFF)
def preview(message_id: uuid.UUID) -> Any:
    """A message with its text and HTML, as it will go or went out."""
    with database.transaction() as session:
        message = session.get(Message, message_id)
        if message is None:
            abort(404, errors={"_request": ["There is no such message."]})
            raise AssertionError("unreachable")
        return describe(message, with_body=True)


@bp.route("/messages/<uuid:message_id>", methods=["PUT"])
@staff_api_required(*RELEASERS)
@bp.arguments(EditIn)
def edit(body: dict[str, Any], message_id: uuid.UUID) -> Any:
    """Rewrite a held message before it goes."""
    with database.transaction() as session:
        try:
            message = messages.edit_held(
                session,
                message_id=message_id,
                subject=body["subject"],
                text_body=body["text_body"],
                actor=str(g.staff.email),
            )
        except messages.NotEditable as err:
            abort(409, errors={"_request": [str(err)]})
            raise AssertionError("unreachable") from err
        return describe(message, with_body=True)


@bp.route("/held/release", methods=["POST"])
@staff_api_required(*RELEASERS)
@bp.arguments(IdsIn)
def release(body: dict[str, Any]) -> Any:
    """Send held messages now."""
    with database.transaction() as session:
        released = messages.release_held(
            session, message_ids=body["message_ids"], actor=str(g.staff.email)
        )
        deliver_after_commit(session, released)
    return {"released": [str(i) for i in released]}


@bp.route("/held/hold", methods=["POST"])
@staff_api_required(*RELEASERS)
@bp.arguments(IdsIn)
def hold(body: dict[str, Any]) -> Any:
    """Take back released messages that have not gone out yet."""
    with database.transaction() as session:
        count = messages.hold_again(
            session, message_ids=body["message_ids"], actor=str(g.staff.email)
        )
    return {"held": count}


@bp.route("/messages/<uuid:message_id>/resend", methods=["POST"])
@staff_api_required(*RELEASERS)
def resend(message_id: uuid.UUID) -> Any:
    """Send a copy of a message again (for example after a failure)."""
    with database.transaction() as session:
        try:
            copy_id = messages.resend(session, message_id=message_id, actor=str(g.staff.email))
        except messages.NotEditable as err:
            abort(409, errors={"_request": [str(err)]})
            raise AssertionError("unreachable") from err
        deliver_after_commit(session, [copy_id])
    return {"id": str(copy_id)}, 201
