"""The public directory as it is published: every field named here, nothing passed through.

The JSON answer (``/api/v1/directory``, in the OpenAPI document) and the page render the
same dump of ``directory.domain.public_directory()``.
"""

from __future__ import annotations

from marshmallow import Schema, fields


class DirectoryGoalOut(Schema):
    category = fields.String()
    category_label = fields.String()
    description = fields.String()
    term = fields.String()
    term_label = fields.String()


class DirectoryRoundtableRefOut(Schema):
    id = fields.UUID()
    name = fields.String()


class DirectoryAllianceOut(Schema):
    id = fields.UUID()
    partner_name = fields.String()
    website = fields.String()
    status = fields.String()
    ambassador = fields.Boolean()
    ambassador_since = fields.Date(allow_none=True)
    division = fields.String()
    division_label = fields.String()
    office = fields.String(metadata={"description": "The office it belongs to (a slug)."})
    office_name = fields.String()
    signing_date = fields.Date()
    renewed_on = fields.Date(allow_none=True)
    goals = fields.List(fields.Nested(DirectoryGoalOut))
    roundtables = fields.List(fields.Nested(DirectoryRoundtableRefOut))


class DirectoryMemberOut(Schema):
    alliance_id = fields.UUID()
    partner_name = fields.String()


class DirectoryWorkgroupOut(Schema):
    id = fields.UUID()
    name = fields.String()
    description = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    members = fields.List(fields.Nested(DirectoryMemberOut))


class DirectoryRoundtableOut(DirectoryWorkgroupOut):
    workgroups = fields.List(fields.Nested(DirectoryWorkgroupOut))


class DirectoryProductOut(Schema):
    id = fields.UUID()
    kind = fields.String(
        metadata={"description": "fact_sheet, toolbox_talk, webinar, translation or other."}
    )
    kind_label = fields.String()
    title = fields.String()
    description = fields.String()
    url = fields.String(metadata={"description": "A web address, or empty."})
    published_on = fields.Date()
    roundtable_id = fields.UUID()
    roundtable_name = fields.String()


class DirectoryOut(Schema):
    as_of = fields.Date()
    division_heading = fields.String()
    offices = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "The offices with a listed alliance: slug to name."},
    )
    office = fields.String(metadata={"description": "The office asked for; empty for all."})
    alliances = fields.List(fields.Nested(DirectoryAllianceOut))
    roundtables = fields.List(fields.Nested(DirectoryRoundtableOut))
    products = fields.List(
        fields.Nested(DirectoryProductOut),
        metadata={"description": "What the roundtables made together, the latest first."},
    )
