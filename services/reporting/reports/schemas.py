"""What the reports API answers (SPEC, "Reports")."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.reporting.reports.models import REMINDER_KINDS, REPORT_KINDS, STATUSES


class ReminderOut(Schema):
    kind = fields.String(required=True, metadata={"enum": list(REMINDER_KINDS)})
    days = fields.Integer(required=True, metadata={"description": "offset from the due date"})
    sent_at = fields.AwareDateTime(required=True, allow_none=True)
    skipped = fields.Boolean(
        required=True,
        metadata={
            "description": "never to be sent: a later reminder went out instead after an "
            "outage, or the report was submitted or cancelled first"
        },
    )


class ReportOut(Schema):
    id = fields.UUID(required=True)
    alliance_id = fields.UUID(required=True)
    kind = fields.String(required=True, metadata={"enum": list(REPORT_KINDS)})
    term = fields.Integer(
        required=True, metadata={"description": "0: the initial term; n: the n-th renewal"}
    )
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    due_date = fields.Date(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    submitted_at = fields.AwareDateTime(required=True, allow_none=True)
    reminders = fields.List(fields.Nested(ReminderOut), required=True)
