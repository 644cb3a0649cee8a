"""filed_offices: the office each proposal and alliance belongs to, as the events said
(``proposal.submitted``, ``proposal.approved``, ``alliance.moved``, the ``report.*`` events), so
staff of an office read the messages of their offices only

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:30:00.000000

Proposals and alliances no event filed yet belong to the top office.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "filed_offices",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id"),
    )
    op.create_index("ix_filed_offices_office", "filed_offices", ["office"])


def downgrade() -> None:
    op.drop_index("ix_filed_offices_office", table_name="filed_offices")
    op.drop_table("filed_offices")
