"""the liaison's review of a submitted report; a revision request's own reminders

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=254), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('accepted', 'revision_requested')", name="review_decision"
        ),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "version"),
    )
    op.create_index("ix_report_reviews_report_id", "report_reviews", ["report_id"])
    # A revision request gives the report a new due date and its own reminders: the
    # reminders of each due date are a round (0: the schedule's, n: the n-th revision).
    op.add_column(
        "report_reminders",
        sa.Column("round", sa.Integer(), server_default="0", nullable=False),
    )
    op.drop_constraint(
        "report_reminders_report_id_kind_days_key", "report_reminders", type_="unique"
    )
    op.create_unique_constraint(
        "uq_report_reminders_round", "report_reminders", ["report_id", "round", "kind", "days"]
    )


def downgrade() -> None:
    op.drop_constraint("uq_report_reminders_round", "report_reminders", type_="unique")
    op.execute("DELETE FROM report_reminders WHERE round > 0")
    op.create_unique_constraint(
        "report_reminders_report_id_kind_days_key",
        "report_reminders",
        ["report_id", "kind", "days"],
    )
    op.drop_column("report_reminders", "round")
    op.drop_index("ix_report_reviews_report_id", table_name="report_reviews")
    op.drop_table("report_reviews")
