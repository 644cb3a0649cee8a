"""held decision messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:47:56.286217
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.add_column("messages", sa.Column("edited_by", sa.String(length=254), nullable=True))
    op.add_column("messages", sa.Column("released_by", sa.String(length=254), nullable=True))


def downgrade() -> None:

    op.drop_column("messages", "released_by")
    op.drop_column("messages", "edited_by")
