"""alliances.office and proposals.office: the office an alliance belongs to (from
``alliance.signed``, kept by ``alliance.moved``) and the one a proposal asked for (from
``proposal.submitted``), so staff see the reports and figures of their offices and
escalations go to the office's Coordinators

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 09:00:00.000000

Alliances and proposals recorded before the column keep a null office: the top office's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("alliances", "proposals")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("office", sa.String(length=64), nullable=True))
        op.create_index(f"ix_{table}_office", table, ["office"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_office", table_name=table)
        op.drop_column(table, "office")
