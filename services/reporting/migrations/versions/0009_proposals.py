"""proposals: reporting's copy of each proposal's status and state, for the dashboard

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=2), server_default="", nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'changes_requested', 'declined', 'approved')",
            name="proposal_status",
        ),
        sa.PrimaryKeyConstraint("proposal_id"),
    )


def downgrade() -> None:
    op.drop_table("proposals")
