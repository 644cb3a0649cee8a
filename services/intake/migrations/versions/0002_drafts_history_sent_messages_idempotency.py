"""drafts, history, sent messages, idempotency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:27:38.366851
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotent_requests",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sent_messages",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index(
        op.f("ix_sent_messages_proposal_id"), "sent_messages", ["proposal_id"], unique=False
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_status_changes_proposal_id"), "status_changes", ["proposal_id"], unique=False
    )
    op.add_column(
        "proposals", sa.Column("draft_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "proposals",
        sa.Column("changes_requested_message", sa.Text(), nullable=False, server_default=""),
    )
    op.alter_column("proposals", "reference", existing_type=sa.VARCHAR(length=40), nullable=True)
    op.create_index(op.f("ix_proposals_status"), "proposals", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_proposals_status"), table_name="proposals")
    op.alter_column("proposals", "reference", existing_type=sa.VARCHAR(length=40), nullable=False)
    op.drop_column("proposals", "changes_requested_message")
    op.drop_column("proposals", "draft_expires_at")
    op.drop_index(op.f("ix_status_changes_proposal_id"), table_name="status_changes")
    op.drop_table("status_changes")
    op.drop_index(op.f("ix_sent_messages_proposal_id"), table_name="sent_messages")
    op.drop_table("sent_messages")
    op.drop_table("idempotent_requests")
