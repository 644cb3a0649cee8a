"""delivery schedule: due times, the sending state and ambiguous deliveries

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.add_column(
        "messages",
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.alter_column("messages", "next_attempt_at", server_default=None)
    op.add_column("messages", sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "messages",
        sa.Column("ambiguous_deliveries", sa.Integer(), server_default="0", nullable=False),
    )
    op.alter_column("messages", "ambiguous_deliveries", server_default=None)
    op.create_index(
        op.f("ix_messages_next_attempt_at"), "messages", ["next_attempt_at"], unique=False
    )


def downgrade() -> None:

    op.drop_index(op.f("ix_messages_next_attempt_at"), table_name="messages")
    op.drop_column("messages", "ambiguous_deliveries")
    op.drop_column("messages", "sending_since")
    op.drop_column("messages", "next_attempt_at")
