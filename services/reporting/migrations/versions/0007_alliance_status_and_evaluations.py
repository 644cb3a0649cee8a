"""the alliance copy's status (backfilled) and the annual evaluations

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:00:00.000000

Backfill: reporting kept no status before, only the schedule. An alliance with a cancelled
report was cut short by a conclusion, a termination or an Ambassador designation, and what
is stored cannot tell which: it becomes ``concluded`` (the event's own status applies from
the next event on); every other alliance is ``active``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "alliances",
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
    )
    op.create_check_constraint(
        "alliance_status",
        "alliances",
        "status IN ('active', 'concluded', 'terminated', 'ambassador')",
    )
    op.execute(
        "UPDATE alliances SET status = 'concluded' WHERE EXISTS (SELECT 1 FROM reports"
        " WHERE reports.alliance_id = alliances.id AND reports.status = 'cancelled')"
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alliance_id", sa.Uuid(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("ratings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_by", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alliance_id"], ["alliances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alliance_id", "term", "year"),
    )
    op.create_index("ix_evaluations_alliance_id", "evaluations", ["alliance_id"])


def downgrade() -> None:
    op.drop_index("ix_evaluations_alliance_id", table_name="evaluations")
    op.drop_table("evaluations")
    op.drop_constraint("alliance_status", "alliances", type_="check")
    op.drop_column("alliances", "status")
