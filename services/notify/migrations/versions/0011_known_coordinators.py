"""notify's copy of the active Coordinators, as review announces them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:00:00.000000

The Coordinator's mail (the new-proposal alert, the 30-day escalation) goes to the active
Coordinators review announces (``staff.coordinators_changed``, issue 16); until the first
announcement arrives it goes to COORDINATOR_EMAIL, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_coordinators",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("coordinators", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("known_coordinators")
