"""outbox: every event is published a second time a while later

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox_events",
        sa.Column("publications", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "outbox_events",
        sa.Column("republish_at", sa.DateTime(timezone=True), nullable=True),
    )
    # Events published before this revision went out once.
    op.execute("UPDATE outbox_events SET publications = 1 WHERE published_at IS NOT NULL")
    op.alter_column("outbox_events", "publications", server_default=None)
    op.create_index(
        "ix_outbox_events_republish",
        "outbox_events",
        ["republish_at"],
        postgresql_where=sa.text("republish_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_events_republish", table_name="outbox_events")
    op.drop_column("outbox_events", "republish_at")
    op.drop_column("outbox_events", "publications")
