"""What intake accepts, one schema per action for the form and the API alike, and what its
API answers.

=================================  =====================================================
action                             input schema
=================================  =====================================================
submit, resubmit, submit a draft   ``ProposalInputSchema``
save a draft                       ``DraftSchema`` (the API wraps it: ``DraftRequestSchema``)
the form's own buttons and fields  ``FormControlsSchema``
=================================  =====================================================

Each derives from ``shared.schemas.InputSchema``: text no one can type is refused field by
field with the same message in the form (inline) and the API (422).
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    INCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from shared.agency import AgencyProfile
from shared.config import load_agency_profile
from shared.proposal import ProposalSchema
from shared.schemas import InputSchema


class ProposalInputSchema(ProposalSchema, InputSchema):
    """A proposal as an applicant submits it, checked against the agency's configuration."""

    class Meta:
        unknown = RAISE  # an unknown field is a mistake worth naming (SPEC's 422)

    def __init__(self, *args: Any, profile: AgencyProfile | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.profile = profile

    @validates_schema(skip_on_field_errors=False)
    def check_agency_lists(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Read per load, not per instance: the API keeps one instance for its lifetime.
        profile = self.profile or load_agency_profile()
        errors: dict[str, Any] = {}

        def unknown(values: Any, allowed: dict[str, str]) -> list[str]:
            return [v for v in values or [] if v not in allowed]

        if bad := unknown(data.get("hazards"), profile.hazards):
            errors["hazards"] = [
                f"Not on the agency's hazard list: {', '.join(bad)}. "
                "Describe other hazards in hazards_other."
            ]
        priority = data.get("priority") or {}
        if bad := unknown(priority.get("priority_areas"), profile.priority_areas):
            errors["priority"] = {
                "priority_areas": [f"Not one of the agency's priority areas: {', '.join(bad)}."]
            }
        errors.update(_lead_errors(profile, data))
        goal_errors: dict[int, dict[str, list[str]]] = {}
        for index, goal in enumerate(data.get("goals") or []):
            if not isinstance(goal, dict):
                continue
            problems: dict[str, list[str]] = {}
            if goal.get("category") and goal["category"] not in profile.goal_categories:
                problems["category"] = [f"Choose one of: {', '.join(profile.goal_categories)}."]
            if bad := unknown(goal.get("activities"), profile.activities):
                problems["activities"] = [
                    f"Not on the program's activity list: {', '.join(bad)}. "
                    "Describe other activities in activities_other."
                ]
            if problems:
                goal_errors[index] = problems
        if goal_errors:
            errors["goals"] = goal_errors
        if errors:
            raise ValidationError(errors)

    @post_load
    def fill_in_the_lead(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Store both the lead division (office level) and the office, whichever was given."""
        profile = self.profile or load_agency_profile()
        office = data.get("requested_office") or profile.office_of_division(
            data["requested_division"]
        )
        division = data.get("requested_division") or profile.division_of_office(office)
        return {**data, "requested_office": office, "requested_division": division}


def _lead_errors(profile: AgencyProfile, data: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with the lead a proposal asks for: an unknown division (office level) or
    office, or an office that is not at the level asked for."""
    noun = "an office level" if profile.federal else "a division"
    division, office = data.get("requested_division"), data.get("requested_office")
    if division is not None and division not in profile.divisions:
        return {"requested_division": [f"Choose {noun}: {', '.join(profile.divisions)}."]}
    if office is None:
        return {}
    if office not in profile.offices:
        return {"requested_office": ["Choose one of the agency's offices."]}
    stands_for = profile.division_of_office(office)
    if division is None and stands_for is None:
        return {"requested_division": [f"Choose {noun}: {', '.join(profile.divisions)}."]}
    if division is not None and stands_for is not None and division != stands_for:
        name = profile.offices.name(office)
        return {
            "requested_office": [
                f"{name} is not a {profile.divisions[division]}: choose an office at that "
                f"level, or leave the {noun.split(' ', 1)[1]} out."
            ]
        }
    return {}


class DraftContactSchema(Schema):
    class Meta:
        unknown = INCLUDE

    email = fields.Email(
        required=True,
        error_messages={
            "required": "Enter the contact's e-mail address: the link to your draft goes there.",
            "invalid": "Enter an e-mail address, like name@example.org.",
        },
    )


class DraftSchema(InputSchema):
    """A draft may be incomplete or wrong anywhere but in the contact's e-mail address."""

    class Meta:
        unknown = INCLUDE

    contact = fields.Nested(
        DraftContactSchema,
        required=True,
        error_messages={"required": "Enter the contact's e-mail address."},
    )


class DraftRequestSchema(InputSchema):
    class Meta:
        unknown = RAISE

    proposal = fields.Nested(DraftSchema, required=True)


class FormControlsSchema(InputSchema):
    """The form's fields that are not the proposal: which button, which draft, which
    submission (a second click on Submit gives the first answer).

    Loaded from the whole posted form, so its check of untypable text covers every field.
    """

    action = fields.String(load_default="submit")
    draft_token = fields.String(load_default="")
    submission_id = fields.String(load_default="")


class SubmittedSchema(Schema):
    id = fields.UUID()
    reference = fields.String()
    status = fields.String()
    version = fields.Integer()
    submitted_at = fields.String()
    status_url = fields.String()


class DraftSavedSchema(Schema):
    id = fields.UUID()
    status = fields.String()
    resume_url = fields.String()
    expires_at = fields.String()


class DraftSchemaOut(Schema):
    id = fields.UUID()
    status = fields.String()
    expires_at = fields.String()
    proposal = fields.Dict()


class HistoryEntrySchema(Schema):
    status = fields.String()
    label = fields.String()
    version = fields.Integer()
    note = fields.String()
    at = fields.String()


class SentMessageSchema(Schema):
    subject = fields.String()
    to = fields.String()
    sent_at = fields.String()


class ProposalStatusSchema(Schema):
    id = fields.UUID()
    reference = fields.String(allow_none=True)
    status = fields.String()
    status_label = fields.String()
    version = fields.Integer()
    organization = fields.String()
    submitted_at = fields.String(allow_none=True)
    changes_requested = fields.String()
    editable = fields.Boolean()
    history = fields.List(fields.Nested(HistoryEntrySchema))
    messages = fields.List(fields.Nested(SentMessageSchema))


class TokenQuerySchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=500))


# One instance of each input schema for the process's lifetime, for the API and the form alike:
# webargs, given a class, builds an instance (and one of each schema it nests) per request.
# Loading keeps no state in them; ``ProposalInputSchema`` reads the agency's lists per load.
PROPOSAL_INPUT = ProposalInputSchema()
DRAFT_REQUEST = DraftRequestSchema()
TOKEN_QUERY = TokenQuerySchema()
DRAFT = DraftSchema()
FORM_CONTROLS = FormControlsSchema()
