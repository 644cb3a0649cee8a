"""What each kind of decision needs: the details ``domain.check_details`` accepts for a
change request (the message to the applicant), a refusal (the reason) and an approval (the
lead division, the liaison, the initial term in years, a note), with the messages staff read.

A plain module of rules: the domain checks a decision's details with them; the input schemas
(schemas.py) give the same messages.
"""

from __future__ import annotations

from marshmallow import fields, validate

from shared.schemas import InputSchema

CHOOSE_A_DECISION = "Choose a decision."
CHOOSE_DECISIONS = "Choose at least one decision to release."


class ChangesRequestedIn(InputSchema):
    message = fields.String(
        required=True,
        validate=validate.Length(min=1, max=10000),
        error_messages={"required": "Tell the applicant what to change."},
    )


class DeclinedIn(InputSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=10000),
        error_messages={"required": "Give the reason for declining."},
    )


class ApprovedIn(InputSchema):
    division = fields.String(
        required=True, error_messages={"required": "Choose the lead division or office."}
    )
    liaison_id = fields.UUID(required=True, error_messages={"required": "Choose the liaison."})
    term_years = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, 5, error="A term of 1 to 5 years."),
    )
    message = fields.String(load_default="", validate=validate.Length(max=10000))


DETAILS: dict[str, type[InputSchema]] = {
    "changes_requested": ChangesRequestedIn,
    "declined": DeclinedIn,
    "approved": ApprovedIn,
}
