"""The shape of a proposal, as the API accepts it and as events carry it.

Intake validates the agency's slugs on top of this (see services/intake/schemas.py); the
event catalog uses this shape alone so that a consumer never rejects an event because its
configuration lists differ from the producer's.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.agency import GOAL_CATEGORIES, GOAL_TERMS, ORGANIZATION_TYPES, REQUIRED_GOAL_CATEGORY

# The states, the District and the territories an address may be in: code -> name, as a
# person picks one from a list (by name) and the data keeps it (by code).
US_STATE_NAMES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "AS": "American Samoa",
    "GU": "Guam",
    "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
}
US_STATES = frozenset(US_STATE_NAMES)

ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")
# A North American number: ten digits, with the usual separators and an optional extension.
PHONE_RE = re.compile(
    r"^(\+?1[\s.-]?)?\(?([2-9]\d{2})\)?[\s.-]?(\d{3})[\s.-]?(\d{4})(\s*(x|ext\.?)\s*\d{1,6})?$",
    re.IGNORECASE,
)
SLUG_RE = re.compile(r"^[a-z0-9_]{1,64}$")

OUTREACH_REQUIRED_MESSAGE = (
    "Add at least one outreach and communication goal: every alliance must include one."
)


class Text(fields.String):
    """A string normalised to Unicode NFC, stripped, with control characters refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        text = unicodedata.normalize("NFC", text).strip()
        if any(unicodedata.category(c) == "Cc" and c not in "\n\t\r" for c in text):
            raise ValidationError("Remove the control characters from this text.")
        return text.replace("\r\n", "\n")


def required_text(max_length: int) -> Text:
    return Text(
        required=True,
        validate=validate.Length(min=1, max=max_length, error="Enter 1 to {max} characters."),
        error_messages={"required": "This field is required.", "null": "This field is required."},
    )


def optional_text(max_length: int) -> Text:
    return Text(
        load_default="",
        validate=validate.Length(max=max_length, error="Keep this to {max} characters or fewer."),
    )


def slug_list(max_items: int) -> fields.List[str]:
    return fields.List(
        fields.String(validate=validate.Regexp(SLUG_RE, error="Not a valid choice.")),
        load_default=list,
        validate=validate.Length(max=max_items, error="Choose at most {max}."),
    )


class PlainSchema(Schema):
    """A schema whose "required" message is plain language unless a field says more."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        if (
            field_obj.error_messages.get("required")
            == fields.Field.default_error_messages["required"]
        ):
            field_obj.error_messages = {
                **field_obj.error_messages,
                "required": "This field is required.",
            }


def _validate_phone(value: str) -> None:
    if not PHONE_RE.match(value):
        raise ValidationError("Enter a 10-digit phone number, like 517-555-0100.")


def _validate_optional_phone(value: str) -> None:
    if value:
        _validate_phone(value)


class AddressSchema(PlainSchema):
    street = required_text(200)
    city = required_text(100)
    state = fields.String(
        required=True,
        validate=validate.OneOf(
            US_STATES,
            error="Choose a state or territory from the list (its two-letter code, like MI).",
        ),
        error_messages={"required": "Choose the state."},
    )
    zip = fields.String(
        required=True,
        validate=validate.Regexp(ZIP_RE, error="Enter a 5-digit ZIP code, like 48933."),
    )


class OrganizationSchema(PlainSchema):
    name = required_text(200)
    type = fields.String(
        required=True,
        validate=validate.OneOf(
            list(ORGANIZATION_TYPES),
            error="Choose a type of organization from the list ({choices}).",
        ),
        error_messages={"required": "Choose the type of organization."},
    )
    address = fields.Nested(AddressSchema, required=True)
    website = fields.Url(
        load_default="",
        allow_none=False,
        schemes={"http", "https"},
        error_messages={"invalid": "Enter a web address that starts with https://"},
    )
    workers_reached = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=0, max=100_000_000, error="Enter a number from 0 up."),
    )
    industry = optional_text(200)
    naics = fields.String(
        load_default="",
        validate=validate.Regexp(r"^(\d{2,6})?$", error="Enter a NAICS code of 2 to 6 digits."),
    )

    def load(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        # An empty website in a form means "none"; Url would call it invalid.
        if isinstance(data, dict) and data.get("website") == "":
            data = {k: v for k, v in data.items() if k != "website"}
        return super().load(data, *args, **kwargs)


class ContactSchema(PlainSchema):
    name = required_text(200)
    title = optional_text(200)
    phone = fields.String(required=True, validate=_validate_phone)
    email = fields.Email(
        required=True,
        validate=validate.Length(max=254),
        error_messages={"invalid": "Enter an e-mail address, like name@example.org."},
    )
    fax = fields.String(load_default="", validate=_validate_optional_phone)
    # The language every message to the contact is in (shared/i18n.py LANGUAGES).
    language = fields.String(
        load_default="en",
        validate=validate.OneOf(["en", "es"], error="Choose English or Spanish."),
    )


class GoalSchema(PlainSchema):
    category = fields.String(
        required=True,
        validate=validate.OneOf(list(GOAL_CATEGORIES), error="Choose one of: {choices}."),
    )
    term = fields.String(
        required=True,
        validate=validate.OneOf(list(GOAL_TERMS), error="Choose short or long."),
        error_messages={"required": "Choose short-term or long-term."},
    )
    description = required_text(2000)
    activities = slug_list(20)
    activities_other = optional_text(1000)
    measure = required_text(500)


class PriorityStatementSchema(PlainSchema):
    priority_areas = slug_list(20)
    emerging_issue = optional_text(2000)
    expertise_gap = optional_text(2000)


class ProposalSchema(PlainSchema):
    organization = fields.Nested(OrganizationSchema, required=True)
    contact = fields.Nested(ContactSchema, required=True)
    hazards = slug_list(30)
    hazards_other = optional_text(1000)
    goals = fields.List(
        fields.Nested(GoalSchema),
        required=True,
        validate=validate.Length(max=40, error="Keep to {max} goals or fewer."),
    )
    priority = fields.Nested(PriorityStatementSchema, load_default=dict)
    # Which part of the agency should lead: the division (State Plan) or office level (federal),
    # and the office itself (shared/offices.py). Either is enough: intake fills in the other
    # (AgencyProfile.office_of_division, division_of_office).
    requested_division = fields.String(
        load_default=None,
        validate=validate.Regexp(SLUG_RE, error="Not a valid choice."),
    )
    requested_office = fields.String(
        load_default=None,
        validate=validate.Regexp(SLUG_RE, error="Not a valid choice."),
    )
    existing_relationship = optional_text(2000)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def require_a_lead(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        # A lead given but refused (not a slug) is not in ``data``: its own error says so.
        if isinstance(original, dict) and (
            original.get("requested_division") or original.get("requested_office")
        ):
            return
        if not data.get("requested_division") and not data.get("requested_office"):
            raise ValidationError(
                "Choose which part of the agency should lead.", field_name="requested_division"
            )

    @validates_schema(skip_on_field_errors=False)
    def require_outreach_goal(self, data: dict[str, Any], **kwargs: Any) -> None:
        goals = data.get("goals")
        if not isinstance(goals, list):
            return
        if not any(
            isinstance(g, dict) and g.get("category") == REQUIRED_GOAL_CATEGORY for g in goals
        ):
            raise ValidationError(OUTREACH_REQUIRED_MESSAGE, field_name="goals")


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested error dict into ``{"a.b.0.c": [messages]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = str(key) if not prefix else f"{prefix}.{key}"
            if key == "_schema":
                path = prefix or "_schema"
            for sub_path, sub_messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(sub_messages)
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "_schema"] = list(messages)
        else:
            for item in messages:
                for sub_path, sub_messages in flatten_errors(item, prefix).items():
                    flat.setdefault(sub_path, []).extend(sub_messages)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


# The proposal form's fields by the label the form gives them, in the form's order (intake's
# error summary and review's "changes since the previous version" both name fields so).
PROPOSAL_FIELD_LABELS: dict[str, str] = {
    "organization.name": "Organization name",
    "organization.type": "Type of organization",
    "organization.address.street": "Street address",
    "organization.address.city": "City",
    "organization.address.state": "State",
    "organization.address.zip": "ZIP code",
    "organization.website": "Website",
    "organization.workers_reached": "Members or employees reached",
    "organization.industry": "Industry",
    "organization.naics": "NAICS code",
    "contact.name": "Contact name",
    "contact.title": "Contact title",
    "contact.phone": "Phone",
    "contact.email": "E-mail",
    "contact.fax": "Fax",
    "contact.language": "Language for our messages",
    "hazards": "Hazards",
    "hazards_other": "Other hazards",
    "goals": "Goals",
    "priority.priority_areas": "Priority areas",
    "priority.emerging_issue": "Emerging issue",
    "priority.expertise_gap": "Expertise the agency lacks",
    "requested_division": "Requested lead",
    "requested_office": "Office",
    "existing_relationship": "Existing relationship with the agency",
}
