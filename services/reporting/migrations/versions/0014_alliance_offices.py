"""alliances.office: the office an alliance belongs to, from ``alliance.signed`` and kept by
``alliance.moved``, so staff see the reports of their offices and escalations go to the
office's Coordinators

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 09:00:00.000000

Alliances recorded before the column keep a null office: the top office's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alliances", sa.Column("office", sa.String(length=64), nullable=True))
    op.create_index("ix_alliances_office", "alliances", ["office"])


def downgrade() -> None:
    op.drop_index("ix_alliances_office", table_name="alliances")
    op.drop_column("alliances", "office")
