"""The report form's input schemas (one per action), after OSHA's annual report form 12-10.4.

``FormControlsSchema`` reads the posted form itself (so text no one can type, in any field,
is refused beside that field); ``ReportContentSchema`` checks the report it describes, for a
draft and a submission alike. A submission must also be complete: that rule is the domain's
(``domain.check_complete``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from shared.config import load_agency_profile
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


def _action(value: str) -> None:
    parts = value.split(":")
    if value in ACTIONS or (len(parts) == 2 and parts[0] == "add" and parts[1] in SECTIONS):
        return
    # remove:<section>:<row index as shown>
    if (
        len(parts) == 3
        and parts[0] == "remove"
        and parts[1] in SECTIONS
        and parts[2].isascii()
        and parts[2].isdigit()
        and int(parts[2]) < MAX_ROWS
    ):
        return
    raise ValidationError("Choose Save draft or Submit.")


class FormControlsSchema(InputSchema):
    """The buttons: save a draft, submit, add one more row to a section or remove one; and
    the box that confirms sending the report before its period ends."""

    action = fields.String(required=True, validate=_action)
    confirm_early = fields.Boolean(
        load_default=False,
        truthy={"yes"},
        falsy={""},
        error_messages={"invalid": "Tick the box or leave it empty."},
    )


class MeetingSchema(InputSchema):
    """One meeting of the implementation team (the liaison and the partner): when, what it
    was about and who took part. Reports stored before topic and attendees were asked for
    have only the date."""

    date = _date()
    topic = optional_text(300)
    attendees = optional_text(2000)


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
