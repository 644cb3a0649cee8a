"""report_link_resends: each new link to a report's form sent to the partner at a staff
member's request, with who asked and when (the report's page lists them)

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_link_resends",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("sent_by", sa.String(length=200), nullable=False),
        sa.Column("sent_by_email", sa.String(length=254), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_link_resends_report_id", "report_link_resends", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_report_link_resends_report_id", table_name="report_link_resends")
    op.drop_table("report_link_resends")
