"""What the decisions' pages and API accept (one input schema per action, for the form and
the JSON alike) and what the API answers. The details each kind of decision needs are a
rule of the domain (details.py)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.review.decisions.details import CHOOSE_A_DECISION, CHOOSE_DECISIONS
from services.review.decisions.models import KINDS
from shared.schemas import InputSchema

# -- input ------------------------------------------------------------------------------------


class DecisionIn(InputSchema):
    """A decision to prepare: its kind, and the details that kind needs (below)."""

    kind = fields.String(
        required=True,
        validate=validate.OneOf(KINDS, error=CHOOSE_A_DECISION),
        error_messages={"required": CHOOSE_A_DECISION},
        metadata={"description": " | ".join(KINDS)},
    )
    details = fields.Dict(
        required=True,
        metadata={
            "description": "changes_requested: message; declined: reason; approved: division, "
            "liaison_id, term_years (optional), message (optional). An approval creates the "
            "alliance awaiting its signing: the date the agreement was signed is recorded "
            "later with POST /api/v1/alliances/{alliance_id}/signing (a signing_date sent "
            "here is ignored)."
        },
    )


class ReleaseIn(InputSchema):
    decision_ids = fields.List(
        fields.UUID(),
        required=True,
        validate=[
            validate.Length(min=1, error=CHOOSE_DECISIONS),
            validate.Length(max=500, error="Release at most 500 decisions at a time."),
        ],
        error_messages={"required": CHOOSE_DECISIONS},
    )


# -- output -----------------------------------------------------------------------------------


class DecisionPreparedOut(Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True)
    details = fields.Dict(required=True)


class PendingDecisionOut(Schema):
    id = fields.UUID(required=True)
    proposal_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    details = fields.Dict(required=True)
    prepared_by = fields.String(required=True)
    prepared_at = fields.DateTime(required=True)


class PendingDecisionsOut(Schema):
    decisions = fields.List(fields.Nested(PendingDecisionOut), required=True)


class ReleasedOut(Schema):
    released = fields.List(fields.UUID(), required=True)
