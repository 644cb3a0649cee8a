"""proposals.organization_name: a declared conflict of interest hides an organization's
proposals from the dashboard's figures too; proposals already kept take their signed
alliance's partner name (the same reference), the others learn it from their next event

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "proposals",
        sa.Column("organization_name", sa.String(length=200), server_default="", nullable=False),
    )
    op.execute(
        "UPDATE proposals SET organization_name = alliances.partner_name "
        "FROM alliances WHERE alliances.reference = proposals.reference"
    )


def downgrade() -> None:
    op.drop_column("proposals", "organization_name")
