"""What the roundtables' staff API accepts and answers (``@bp.arguments``/``@bp.response``:
the OpenAPI document describes both)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.review.alliances.schemas import Label
from services.review.roundtables.domain import CHOOSE_KIND, PRODUCT_KINDS
from shared.schemas import InputSchema


def _required(message: str) -> dict[str, Any]:
    return {"required": message, "null": message}


def _date(required: str | None = None) -> dict[str, Any]:
    """A date field's messages: ``required`` when it is missing, and the format asked for."""
    return {**(_required(required) if required else {}), "invalid": "Give a date (YYYY-MM-DD)."}


# -- what the endpoints accept ----------------------------------------------------------------


class RoundtableIn(InputSchema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Give the roundtable's name."),
    )
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    starts_on = fields.Date(required=True, error_messages=_date("Give the day it starts."))
    ends_on = fields.Date(load_default=None, allow_none=True, error_messages=_date())
    parent_id = fields.UUID(
        load_default=None,
        allow_none=True,
        error_messages={"invalid": "Choose a roundtable from the list."},
        metadata={"description": "For a workgroup: the roundtable it belongs to."},
    )


class RoundtableChangeIn(InputSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10000))
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)


class MembershipIn(InputSchema):
    alliance_id = fields.UUID(
        required=True,
        error_messages={**_required("Choose the alliance."), "invalid": "Choose the alliance."},
    )
    joined_on = fields.Date(required=True, error_messages=_date("Give the day it joined."))


class DepartureIn(InputSchema):
    left_on = fields.Date(required=True, error_messages=_date("Give the last day as a member."))


class RoundtableMeetingIn(InputSchema):
    """A day the roundtable (or workgroup) met."""

    held_on = fields.Date(required=True, error_messages=_date("Give the day it met."))
    topic = fields.String(
        required=True,
        validate=validate.Length(max=200),  # a blank one: the domain asks for the topic
        error_messages=_required("Give the meeting's topic."),
    )
    summary = fields.String(load_default="", validate=validate.Length(max=10000))
    attendees = fields.String(
        load_default="",
        validate=validate.Length(max=10000),
        metadata={"description": "Who attended, as written (people, organizations)."},
    )


class RoundtableProductIn(InputSchema):
    """Something the roundtable's members made together."""

    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(PRODUCT_KINDS), error=CHOOSE_KIND),
        error_messages=_required(CHOOSE_KIND),
        metadata={"description": "One of " + ", ".join(PRODUCT_KINDS) + "."},
    )
    title = fields.String(
        required=True,
        validate=validate.Length(max=200),  # a blank one: the domain asks for the title
        error_messages=_required("Give the product's title."),
    )
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    url = fields.String(
        load_default="",
        validate=validate.Length(max=2000),
        metadata={"description": "A web address starting with https:// (or http://), or none."},
    )
    published_on = fields.Date(
        required=True, error_messages=_date("Give the day it was published.")
    )
    public = fields.Boolean(
        load_default=True,
        error_messages={
            "null": "Say whether the public directory lists it.",
            "invalid": "Say whether the public directory lists it.",
        },
        metadata={"description": "Listed on the public directory (yes unless false)."},
    )


class RoundtableProductChangeIn(InputSchema):
    """Some of a product's fields (``public`` false hides it from the directory)."""

    kind = fields.String(validate=validate.OneOf(list(PRODUCT_KINDS), error=CHOOSE_KIND))
    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10000))
    url = fields.String(validate=validate.Length(max=2000))
    published_on = fields.Date(error_messages=_date())
    public = fields.Boolean(
        error_messages={
            "null": "Say whether the public directory lists it.",
            "invalid": "Say whether the public directory lists it.",
        }
    )


# -- what the endpoints answer ----------------------------------------------------------------


class RoundtableOut(Schema):
    id = fields.UUID()
    parent_id = fields.UUID(allow_none=True)  # a workgroup's roundtable
    name = fields.String()
    description = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)  # its last day


class RoundtableMemberOut(Schema):
    """One membership (``roundtables.domain.Member``)."""

    id = fields.UUID(attribute="membership.id")
    roundtable_id = fields.UUID(attribute="membership.roundtable_id")
    alliance_id = fields.UUID(attribute="alliance.id")
    partner_name = fields.String(attribute="alliance.partner_name")
    joined_on = fields.Date(attribute="membership.joined_on")
    left_on = fields.Date(attribute="membership.left_on", allow_none=True)  # its last day


class RoundtableRosterOut(RoundtableOut):
    """A roundtable with every membership, past and present (``roundtables.domain.Roster``)."""

    memberships = fields.List(fields.Nested(RoundtableMemberOut))


class RoundtableListOut(Schema):
    roundtables = fields.List(fields.Nested(RoundtableRosterOut))


class RoundtableMeetingOut(Schema):
    id = fields.UUID()
    roundtable_id = fields.UUID()
    held_on = fields.Date()
    topic = fields.String()
    summary = fields.String()
    attendees = fields.String()
    recorded_by = fields.String()  # a staff member's e-mail address
    recorded_at = fields.DateTime()


class RoundtableMeetingListOut(Schema):
    meetings = fields.List(fields.Nested(RoundtableMeetingOut))


class RoundtableProductOut(Schema):
    id = fields.UUID()
    roundtable_id = fields.UUID()
    kind = fields.String()
    kind_label = Label(PRODUCT_KINDS, source="kind")
    title = fields.String()
    description = fields.String()
    url = fields.String()
    published_on = fields.Date()
    public = fields.Boolean(metadata={"description": "Listed on the public directory."})
    recorded_by = fields.String()  # a staff member's e-mail address
    recorded_at = fields.DateTime()


class RoundtableProductListOut(Schema):
    products = fields.List(fields.Nested(RoundtableProductOut))


class RoundtableJoinableOut(Schema):
    id = fields.UUID()
    partner_name = fields.String()
    reference = fields.String()


class RoundtablePageOut(RoundtableRosterOut):
    """One roundtable as its staff page shows it (``roundtables.domain.RoundtablePage``)."""

    parent = fields.Nested(RoundtableOut, allow_none=True)
    workgroups = fields.List(fields.Nested(RoundtableOut))
    meetings = fields.List(fields.Nested(RoundtableMeetingOut))
    products = fields.List(fields.Nested(RoundtableProductOut))
    joinable = fields.List(fields.Nested(RoundtableJoinableOut))
    names = fields.Dict(keys=fields.String(), values=fields.String())
    is_current = fields.Boolean()


class RoundtableLineOut(RoundtableOut):
    """One line of the staff list (``roundtables.domain.Line``)."""

    id = fields.UUID(attribute="roster.id")
    parent_id = fields.UUID(attribute="roster.parent_id", allow_none=True)
    name = fields.String(attribute="roster.name")
    description = fields.String(attribute="roster.description")
    starts_on = fields.Date(attribute="roster.starts_on")
    ends_on = fields.Date(attribute="roster.ends_on", allow_none=True)
    members_now = fields.Integer()
    is_current = fields.Boolean()
