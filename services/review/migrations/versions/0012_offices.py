"""staff, proposals and alliances belong to an office

The agency is a tree of offices (shared/offices.py). A member of staff belongs to one and sees
and acts for it and the offices under it; a proposal names the office it asks to lead it; an
alliance belongs to the office that approved it until it is moved. NULL is the top office:
everyone and everything that existed before offices stays where the whole program is seen.

Revision ID: 0012_offices
Revises: 0011_staff_password_links
Create Date: 2026-12-07 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_offices"
down_revision: str | None = "0011_staff_password_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("staff_users", "queued_proposals", "alliances")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("office", sa.String(length=64), nullable=True))
        op.create_index(f"ix_{table}_office", table, ["office"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_office", table_name=table)
        op.drop_column(table, "office")
