"""What the queue's pages and API accept (one input schema per action, for the form and the
JSON alike) and what the API answers (dump schemas, described in the OpenAPI document)."""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from services.review import people
from services.review.queue import domain as queue
from services.review.queue.scoring import DEFAULT_WEIGHTS
from shared.config import load_agency_profile
from shared.schemas import InputSchema

# -- input ------------------------------------------------------------------------------------


ASSIGNED_CHOICE = "Choose someone from the list."


def _whose(value: str) -> None:
    value = value.strip()
    if value in ("", queue.ASSIGNED_TO_ME, queue.ASSIGNED_TO_NOBODY):
        return
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValidationError(ASSIGNED_CHOICE) from None


class QueueQuery(InputSchema):
    status = fields.List(
        fields.String(
            validate=validate.OneOf(queue.STATUSES, error="Choose among the statuses listed.")
        ),
        load_default=None,
    )
    division = fields.String(load_default="", validate=validate.Length(max=64))
    office = fields.String(load_default="", validate=validate.Length(max=64))
    hazard = fields.String(load_default="", validate=validate.Length(max=64))
    state = fields.String(
        load_default="",
        validate=validate.Length(max=2, error="Choose a state by its two-letter code."),
    )
    organization_type = fields.String(load_default="", validate=validate.Length(max=40))
    q = fields.String(
        load_default="", validate=validate.Length(max=200, error="At most 200 characters.")
    )
    assigned = fields.String(
        load_default="",
        validate=_whose,
        metadata={"description": '"me", "nobody" or a staff id: whose proposals'},
    )


class QueuePageQuery(QueueQuery):
    """The queue page's filters and the page of it to show."""

    page = fields.Integer(
        validate=validate.Range(min=1, error="Pages are numbered from 1."),
        load_default=1,
        error_messages={"invalid": "Give a page number."},
    )


def _written(message: str) -> Any:
    def check(value: str) -> None:
        if not value.strip():
            raise ValidationError(message)

    return check


class WholeNumber(fields.Integer):
    """A whole number, from JSON (an integer) or from a form field (its digits)."""

    default_error_messages = {
        "invalid": "Enter a whole number, such as 10 or -10.",
        "null": "Enter a whole number, such as 10 or -10.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.make_error("invalid")
        if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
            raise self.make_error("invalid")
        try:
            return int(value)
        except ValueError:  # "²" is a digit to isdigit, "+-1" passes the strip: not to int()
            raise self.make_error("invalid") from None


class AdjustmentIn(InputSchema):
    points = WholeNumber(
        required=True,
        validate=validate.Range(
            -queue.MAX_ADJUSTMENT, queue.MAX_ADJUSTMENT, error=queue.POINTS_RANGE
        ),
        error_messages={"required": "Enter a whole number, such as 10 or -10."},
    )
    reason = fields.String(
        required=True,
        validate=[validate.Length(max=queue.MAX_REASON), _written(queue.REASON_REQUIRED)],
        error_messages={"required": queue.REASON_REQUIRED},
    )


class AssignmentIn(InputSchema):
    """``reviewer_id``: who gets the proposal (your own id to claim it); null gives it back."""

    reviewer_id = fields.UUID(
        required=True,
        allow_none=True,
        error_messages={
            "required": "Name the reviewer, or null to give the proposal back.",
            "invalid_uuid": queue.CHOOSE_A_REVIEWER,
        },
    )


class AssignmentsIn(InputSchema):
    """Several proposals to one reviewer (null: back to the queue), all or nothing."""

    proposal_ids = fields.List(
        fields.UUID(error_messages={"invalid_uuid": "Not a proposal's id."}),
        required=True,
        validate=[
            validate.Length(min=1, error=queue.CHOOSE_PROPOSALS),
            validate.Length(max=queue.MAX_BULK, error=queue.TOO_MANY_PROPOSALS),
        ],
        error_messages={"required": queue.CHOOSE_PROPOSALS},
    )
    reviewer_id = fields.UUID(
        required=True,
        allow_none=True,
        error_messages={
            "required": "Name the reviewer, or null to put the proposals back in the queue.",
            "invalid_uuid": queue.CHOOSE_A_REVIEWER,
        },
    )


class CommentIn(InputSchema):
    body = fields.String(
        required=True,
        validate=[
            validate.Length(max=queue.MAX_COMMENT, error=queue.COMMENT_TOO_LONG),
            _written(queue.COMMENT_REQUIRED),
        ],
        error_messages={"required": queue.COMMENT_REQUIRED},
    )


class ConflictIn(InputSchema):
    organization_name = fields.String(
        required=True,
        validate=[
            validate.Length(max=queue.MAX_ORGANIZATION_NAME),
            _written(queue.ORGANIZATION_REQUIRED),
        ],
        error_messages={"required": queue.ORGANIZATION_REQUIRED},
    )


class PriorityAreaIn(InputSchema):
    slug = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[a-z0-9_]{1,64}$", error="Use lower-case letters, digits and _ (as in falls)."
        ),
    )
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    effective_from = fields.Date(load_default=None, allow_none=True)
    effective_to = fields.Date(load_default=None, allow_none=True)
    weight = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(0, 1000))


class ScoringConfigIn(InputSchema):
    weights = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(DEFAULT_WEIGHTS))),
        values=WholeNumber(validate=validate.Range(0, 100000)),
        load_default=dict,
    )
    priority_areas = fields.List(fields.Nested(PriorityAreaIn), required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


# -- output -----------------------------------------------------------------------------------


class ScoreLineOut(Schema):
    points = fields.Integer(required=True)
    reason = fields.String(required=True)


class OrganizationOut(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    state = fields.String(required=True)


class QueueEntryOut(Schema):
    """A proposal in the queue, its score explained."""

    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True)
    organization = fields.Nested(OrganizationOut, required=True)
    requested_division = fields.String(required=True)
    office = fields.Method(
        "office_slug", metadata={"description": "the office the proposal belongs to (a slug)"}
    )
    office_name = fields.Method("office_label")
    version = fields.Integer(required=True)
    submitted_at = fields.DateTime(required=True)
    priority = fields.Integer(required=True, metadata={"description": "score + adjustment"})
    score = fields.Integer(required=True)
    score_version = fields.Integer(required=True, allow_none=True)
    score_explanation = fields.List(
        fields.Nested(ScoreLineOut), attribute="score_lines", required=True
    )
    adjustment = fields.Integer(required=True)
    adjustment_reason = fields.String(required=True)
    assigned_to = fields.UUID(required=True, allow_none=True)

    # A proposal file (ProposalFileOut) holds its queued proposal.
    def office_slug(self, entry: Any) -> str:
        return getattr(entry, "queued", entry).office or load_agency_profile().offices.top.slug

    def office_label(self, entry: Any) -> str:
        return people.office_name(getattr(entry, "queued", entry).office)


class QueueOut(Schema):
    proposals = fields.List(fields.Nested(QueueEntryOut), required=True)
    count = fields.Integer(required=True)


class CommentOut(Schema):
    author = fields.String(attribute="author_name", required=True)
    body = fields.String(required=True)
    at = fields.DateTime(required=True)


class HistoryEntryOut(Schema):
    action = fields.String(required=True)
    actor = fields.String(required=True)
    changes = fields.Dict(required=True)
    note = fields.String(required=True, allow_none=True)
    at = fields.DateTime(required=True)


class ProposalFileOut(QueueEntryOut):
    """A proposal (``queue.ProposalFile``) with its data, changes since the last version,
    internal comments and history."""

    proposal = fields.Dict(attribute="data", required=True)
    changes_since_last_version = fields.Dict(required=True)
    comments = fields.List(fields.Nested(CommentOut), required=True)
    history = fields.List(fields.Nested(HistoryEntryOut), required=True)

    _OF_THE_FILE = frozenset({"changes_since_last_version", "comments", "history"})

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        # The queue entry's fields are the queued proposal's; the rest the file's own.
        source = obj if attr in self._OF_THE_FILE else obj.queued
        return super().get_attribute(source, attr, default)


class CommentSavedOut(Schema):
    author = fields.String(attribute="author_name", required=True)
    body = fields.String(required=True)


class ConflictsOut(Schema):
    organizations = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the declared organizations, folded for matching"},
    )


class ConflictDeclaredOut(Schema):
    organization_name = fields.String(required=True)


class ProgressOut(Schema):
    waiting = fields.Integer(required=True)
    in_review = fields.Integer(required=True)
    decided = fields.Integer(required=True)
    average_days_to_decision = fields.Float(required=True, allow_none=True)


class PriorityAreaOut(Schema):
    slug = fields.String(required=True)
    label = fields.String(required=True)
    effective_from = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    effective_to = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    weight = fields.Integer(required=True, allow_none=True)


class ScoringConfigOut(Schema):
    version = fields.Integer(required=True)
    weights = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    priority_areas = fields.List(fields.Nested(PriorityAreaOut), required=True)
    note = fields.String(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ScoringSavedOut(Schema):
    version = fields.Integer(required=True)
