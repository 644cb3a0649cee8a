"""mail_channel: whether the mail server is down, since when, and when to probe it next;
ix_messages_due: the pending messages by due time

Revision ID: 0014
Revises: 0013
Create Date: 2027-01-11 10:00:00.000000

An unreachable server is a state of the channel, probed on its own, rather than a failed
attempt charged to every message waiting for it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_channel",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("down_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("probe_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index(
        "ix_messages_due",
        "messages",
        ["next_attempt_at", "created_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_due", table_name="messages")
    op.drop_table("mail_channel")
