"""What the roundtables' staff API accepts and answers (``@bp.arguments``/``@bp.response``:
the OpenAPI document describes both)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from shared.schemas import InputSchema


def _required(message: str) -> dict[str, Any]:
    return {"required": message, "null": message}


# -- what the endpoints accept ----------------------------------------------------------------


class RoundtableIn(InputSchema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Give the roundtable's name."),
    )
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    starts_on = fields.Date(required=True, error_messages=_required("Give the day it starts."))
    ends_on = fields.Date(load_default=None, allow_none=True)
    parent_id = fields.UUID(load_default=None, allow_none=True)


class RoundtableChangeIn(InputSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10000))
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)


class MembershipIn(InputSchema):
    alliance_id = fields.UUID(required=True, error_messages=_required("Choose the alliance."))
    joined_on = fields.Date(required=True, error_messages=_required("Give the day it joined."))


class DepartureIn(InputSchema):
    left_on = fields.Date(required=True, error_messages=_required("Give the last day as a member."))


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
