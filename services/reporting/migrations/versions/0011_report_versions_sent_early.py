"""report_versions.sent_early: a version sent before its report's period ended, the partner
having confirmed it covers only part of the period (false for versions stored before: not
asked then)

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-20 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "report_versions",
        sa.Column("sent_early", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("report_versions", "sent_early")
