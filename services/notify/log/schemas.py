"""What notify's pages and API accept (one input schema per action, for the form and the API
alike) and how its API describes a message (dump schemas, in the OpenAPI document too)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.notify.log.domain import failure_reason
from shared.schemas import InputSchema

STATUSES = ("held", "pending", "sending", "sent", "failed")


# -- input ------------------------------------------------------------------------------------


SEARCH_MAX = 200


def _some_words(text: str) -> None:
    if not text.strip():
        raise ValidationError("Give some words to search for.")


class MessagesQuery(InputSchema):
    proposal_id = fields.UUID()
    reference = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "A proposal's reference (also its alliance's): every message about "
            "the proposal and the alliance, e.g. ``AP-2026-10007``."
        },
    )
    to_address = fields.String(
        data_key="to",
        validate=validate.Length(min=1, max=254),
        metadata={"description": "Any part of the recipient's address, case aside."},
    )
    status = fields.String(validate=validate.OneOf(STATUSES))
    search = fields.String(
        data_key="q",
        validate=[validate.Length(max=SEARCH_MAX), _some_words],
        metadata={
            "description": "Search words, case aside: part of a reference (``ap-2026-1``, "
            "``2026-0001``), of the subject, or of the partner organization's name (notify "
            "keeps the name folded: case, punctuation and spacing do not count). Taken "
            "literally: ``%`` and ``_`` match themselves. Unlike ``reference``, it does not "
            "add the messages of the proposal that carry no reference."
        },
    )

    @validates_schema
    def needs_a_filter(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.keys() & {"proposal_id", "reference", "to_address", "status", "search"}:
            raise ValidationError(
                "Give a proposal_id, a reference, a recipient (to), a status or search words (q).",
                "_schema",
            )


class LogQuery(InputSchema):
    """The message log page's filters (``/staff/log``); blank fields filter nothing."""

    reference = fields.String(validate=validate.Length(max=40), load_default="")
    search = fields.String(
        data_key="q",
        validate=validate.Length(
            max=SEARCH_MAX, error=f"Search with at most {SEARCH_MAX} characters."
        ),
        load_default="",
    )
    to_address = fields.String(data_key="to", validate=validate.Length(max=254), load_default="")
    status = fields.String(
        validate=validate.OneOf(
            ("", *STATUSES), error="Choose a status from the list, or any status."
        ),
        load_default="",
    )
    office = fields.String(validate=validate.Length(max=64), load_default="")
    page = fields.Integer(
        validate=validate.Range(min=1, error="Pages are numbered from 1."),
        load_default=1,
        error_messages={"invalid": "Give a page number."},
    )


class EditIn(InputSchema):
    """A held message rewritten (``PUT /api/v1/messages/<id>``, the message page's form)."""

    subject = fields.String(required=True, validate=validate.Length(max=300))
    text_body = fields.String(required=True, validate=validate.Length(max=50000))


class ChosenMessagesIn(InputSchema):
    """Messages to release or hold back (the API's body, the held page's checkboxes)."""

    message_ids = fields.List(
        fields.UUID(),
        required=True,
        validate=validate.Length(min=1, max=500, error="Choose at least one message."),
        error_messages={"required": "Choose at least one message."},
    )


# -- output -----------------------------------------------------------------------------------


class MessageOut(Schema):
    id = fields.UUID(required=True)
    template = fields.String(required=True)
    reference = fields.String(required=True)
    proposal_id = fields.UUID(required=True, allow_none=True)
    to = fields.String(required=True, attribute="to_address")
    subject = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    attempts = fields.Integer(required=True)
    ambiguous_deliveries = fields.Integer(
        required=True, metadata={"description": "Attempts that may have reached the recipient."}
    )
    next_attempt_at = fields.AwareDateTime(
        required=True,
        allow_none=True,
        attribute="next_attempt_due",
        metadata={"description": "When the next attempt is due; null unless pending."},
    )
    last_error = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The mail server's last answer, or why the attempt failed."},
    )
    failure_reason = fields.Function(
        lambda message: failure_reason(message) or None,
        required=True,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "``last_error`` explained for a person; null when none.",
        },
    )
    edited_by = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The e-mail address of who edited it while held."},
    )
    edited_by_name = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Their name as it was then; null when nobody edited it, or for an "
            "edit recorded before names were."
        },
    )
    released_by = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The e-mail address of who released it, or resent it."},
    )
    released_by_name = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Their name as it was then; null when nobody did, or for a "
            "release recorded before names were."
        },
    )
    created_at = fields.AwareDateTime(required=True)
    sent_at = fields.AwareDateTime(required=True, allow_none=True)


class MessageWithBodyOut(MessageOut):
    text_body = fields.String(required=True)
    html_body = fields.String(required=True)


class MessagesOut(Schema):
    messages = fields.List(fields.Nested(MessageOut), required=True)


class ReleasedOut(Schema):
    released = fields.List(fields.UUID(), required=True)


class HeldAgainOut(Schema):
    held = fields.Integer(required=True, metadata={"description": "How many were held back."})


class CopyOut(Schema):
    id = fields.UUID(required=True, metadata={"description": "The new copy's id."})
