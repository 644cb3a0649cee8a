"""report_reviews.reviewed_by_name: the reviewer's name beside the e-mail address that stays
their identity, so the report's page and its printout say who reviewed it by name

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:30:00.000000

Reviews recorded before the column keep a null name and are shown by the address.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "report_reviews", sa.Column("reviewed_by_name", sa.String(length=200), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("report_reviews", "reviewed_by_name")
