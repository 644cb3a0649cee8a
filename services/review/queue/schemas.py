"""What review's API and pages accept: one set of marshmallow schemas for both."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from services.review.decisions import domain as decisions
from services.review.queue import domain as queue


class QueueQuery(Schema):
    status = fields.List(
        fields.String(
            validate=validate.OneOf(
                [*queue.OPEN_STATES, "changes_requested", *queue.DECIDED_STATES]
            )
        ),
        load_default=None,
    )
    division = fields.String(load_default="")
    hazard = fields.String(load_default="")
    state = fields.String(load_default="", validate=validate.Length(max=2))
    organization_type = fields.String(load_default="")
    q = fields.String(load_default="", validate=validate.Length(max=200))


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Write something here.")


class AdjustmentIn(Schema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(-1000, 1000))
    reason = fields.String(
        required=True,
        validate=[validate.Length(max=2000), _not_blank],
        error_messages={"required": "Give the reason for moving this proposal."},
    )


class AssignmentIn(Schema):
    reviewer_id = fields.UUID(required=True, allow_none=True)


class CommentIn(Schema):
    body = fields.String(required=True, validate=[validate.Length(max=10000), _not_blank])


class ConflictIn(Schema):
    organization_name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PriorityAreaIn(Schema):
    slug = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,64}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    effective_from = fields.Date(load_default=None, allow_none=True)
    effective_to = fields.Date(load_default=None, allow_none=True)
    weight = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 1000))


class ScoringConfigIn(Schema):
    weights = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(queue.DEFAULT_WEIGHTS))),
        values=fields.Integer(validate=validate.Range(0, 100000)),
        load_default=dict,
    )
    priority_areas = fields.List(fields.Nested(PriorityAreaIn), required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class DecisionIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(decisions.KINDS))
    details = fields.Dict(required=True)


class ReleaseIn(Schema):
    decision_ids = fields.List(
        fields.UUID(), required=True, validate=validate.Length(min=1, max=500)
    )
