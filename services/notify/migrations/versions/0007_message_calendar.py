"""each message's calendar (.ics) and each report's calendar entry

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:40:00.000000

``messages.calendar``: the iCalendar text attached to the message ("" for none), stored with
the rendered text so that a retry or a resend attaches the very same calendar.
``report_calendar_entries``: per report, the due date its calendar entry last carried and the
entry's SEQUENCE, raised when the due date changes (a revision's new due date), so that a mail
client updates the entry it has instead of adding another.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("calendar", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "report_calendar_entries",
        sa.Column("report_id", sa.Uuid(), primary_key=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_calendar_entries")
    op.drop_column("messages", "calendar")
