"""The review's input (one schema for the form and the API) and what the API answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.reporting.reports.models import DECISIONS
from services.reporting.reports.review import MAX_COMMENTS
from services.reporting.reports.schemas import ReportOut
from shared.schemas import InputSchema


class RevisionRequestIn(InputSchema):
    comments = fields.String(
        required=True,
        validate=validate.Length(
            min=1, max=MAX_COMMENTS, error="Say what to change, in at most {max} characters."
        ),
        metadata={"description": "what the partner should change (required)"},
    )
    due_date = fields.Date(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": "Enter a date like 2027-01-30 (year-month-day)."},
        metadata={
            "description": "the new due date, if later than the rule's: the later of the "
            "current due date and REPORT_REVISION_DAYS days after the request (optional)"
        },
    )


class ReviewOut(Schema):
    version = fields.Integer(required=True, metadata={"description": "the version reviewed"})
    decision = fields.String(required=True, metadata={"enum": list(DECISIONS)})
    comments = fields.String(required=True)
    reviewed_by = fields.String(
        required=True, metadata={"description": "the reviewer's e-mail address"}
    )
    reviewed_by_name = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "the reviewer's name as it was then; null for a review recorded "
            "before names were"
        },
    )
    reviewed_at = fields.AwareDateTime(required=True)


class VersionOut(Schema):
    number = fields.Integer(required=True)
    submitted_at = fields.AwareDateTime(required=True)
    on_time = fields.Boolean(required=True)
    content = fields.Dict(required=True, metadata={"description": "the report as submitted"})


class LinkSentOut(Schema):
    """A new link to the report's form sent to the partner's contact at a staff member's
    request."""

    report_id = fields.UUID(required=True)
    sent_by = fields.String(required=True, metadata={"description": "who asked, by name"})
    sent_at = fields.AwareDateTime(required=True)


class ReportFileOut(ReportOut):
    versions = fields.List(fields.Nested(VersionOut), required=True)
    reviews = fields.List(fields.Nested(ReviewOut), required=True)
    links_sent = fields.List(
        fields.Nested(LinkSentOut),
        required=True,
        metadata={"description": "the new links sent to the partner, oldest first"},
    )
