"""The report form's input schemas (one per action), after OSHA's annual report form 12-10.4.

``FormControlsSchema`` reads the posted form itself (so text no one can type, in any field,
is refused beside that field); ``ReportContentSchema`` checks the report it describes, for a
draft and a submission alike. A submission must also be complete: that rule is the domain's
(``domain.check_complete``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from shared.agency import load_agency_profile
from shared.proposal import US_STATES, Text, optional_text
from shared.schemas import InputSchema

MAX_ROWS = 100
ACTIONS = ("save_draft", "submit")
SECTIONS = ("meetings", "dissemination", "outreach", "staff_training", "products")


def _date() -> fields.Date:
    return fields.Date(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": "Enter a date like 2026-03-15 (year-month-day)."},
    )


def _number() -> fields.Integer:
    return fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        validate=validate.Range(min=0, max=10_000_000, error="Enter a whole number, 0 or more."),
        error_messages={"invalid": "Enter a whole number, 0 or more."},
    )


def _emphasis_area(value: str) -> None:
    profile = load_agency_profile()
    if value and value not in {**profile.hazards, **profile.priority_areas}:
        raise ValidationError("Choose an emphasis area from the list.")


def _state(value: str) -> None:
    if value and value not in US_STATES:
        raise ValidationError("Choose a state from the list.")


class FormControlsSchema(InputSchema):
    """The buttons: save a draft, submit, or add one more row to a section."""

    action = fields.String(
        required=True,
        validate=validate.OneOf(
            [*ACTIONS, *(f"add:{section}" for section in SECTIONS)],
            error="Choose Save draft or Submit.",
        ),
    )


class MeetingSchema(InputSchema):
    date = _date()


class DisseminationSchema(InputSchema):
    type = optional_text(200)
    date = _date()
    description = optional_text(2000)
    emphasis_area = Text(load_default="", validate=_emphasis_area)
    number_reached = _number()


class OutreachSchema(InputSchema):
    date = _date()
    event = optional_text(300)
    city = optional_text(100)
    state = Text(load_default="", validate=_state)
    emphasis_area = Text(load_default="", validate=_emphasis_area)
    number_reached = _number()


class StaffTrainingSchema(InputSchema):
    audience = optional_text(300)
    number_reached = _number()


class ProductSchema(InputSchema):
    title = optional_text(300)
    description = optional_text(2000)


class NarrativeSchema(InputSchema):
    results = optional_text(5000)
    obstacles = optional_text(5000)


def _rows(schema: type[InputSchema]) -> fields.List:
    return fields.List(
        fields.Nested(schema),
        load_default=list,
        validate=validate.Length(max=MAX_ROWS, error="At most {max} rows."),
    )


class ReportContentSchema(InputSchema):
    """A report's content, as stored in its draft and its versions."""

    meetings = _rows(MeetingSchema)
    dissemination = _rows(DisseminationSchema)
    outreach = _rows(OutreachSchema)
    staff_training = _rows(StaffTrainingSchema)
    products = _rows(ProductSchema)
    narratives = fields.Dict(
        keys=fields.String(), values=fields.Nested(NarrativeSchema), load_default=dict
    )


def stored(content: dict[str, Any]) -> dict[str, Any]:
    """Loaded content as JSON (dates as ISO text)."""
    dumped: dict[str, Any] = ReportContentSchema().dump(content)
    return dumped
