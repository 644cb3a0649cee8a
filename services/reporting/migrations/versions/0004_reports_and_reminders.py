"""reports and their reminders; the alliance copy keeps its contact and liaison

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("contact", "liaison"):
        op.add_column(
            "alliances",
            sa.Column(column, postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        )
        # Alliances recorded before this revision: the people their alliance.signed named.
        op.execute(f"UPDATE alliances SET {column} = signed -> '{column}'")  # noqa: S608
        op.alter_column("alliances", column, nullable=False)

    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alliance_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('quarterly', 'annual')", name="report_kind"),
        sa.CheckConstraint(
            "status IN ('scheduled', 'due_soon', 'due', 'overdue', 'submitted', "
            "'revision_requested', 'accepted', 'cancelled')",
            name="report_status",
        ),
        sa.ForeignKeyConstraint(["alliance_id"], ["alliances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alliance_id", "kind", "term", "period_start"),
    )
    op.create_index("ix_reports_alliance_id", "reports", ["alliance_id"])
    op.create_table(
        "report_reminders",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('due_soon', 'due', 'overdue', 'escalated')", name="reminder_kind"
        ),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "kind", "days"),
    )
    op.create_index("ix_report_reminders_report_id", "report_reminders", ["report_id"])
    op.create_index(
        "ix_report_reminders_unsent",
        "report_reminders",
        ["due_at"],
        postgresql_where=sa.text("sent_at IS NULL AND NOT skipped"),
    )


def downgrade() -> None:
    op.drop_index("ix_report_reminders_unsent", table_name="report_reminders")
    op.drop_index("ix_report_reminders_report_id", table_name="report_reminders")
    op.drop_table("report_reminders")
    op.drop_index("ix_reports_alliance_id", table_name="reports")
    op.drop_table("reports")
    op.drop_column("alliances", "liaison")
    op.drop_column("alliances", "contact")
