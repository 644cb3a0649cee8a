"""priority queue: scores, configuration versions, adjustments, comments, conflicts, audit

Revision ID: 0002_queue
Revises: 0001
Create Date: 2026-11-23 11:44:24.226959
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_queue"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_entity_id"), "audit_log", ["entity_id"], unique=False)
    op.create_table(
        "queue_adjustments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_queue_adjustments_proposal_id"), "queue_adjustments", ["proposal_id"], unique=False
    )
    op.create_table(
        "review_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_review_comments_proposal_id"), "review_comments", ["proposal_id"], unique=False
    )
    op.create_table(
        "scoring_configs",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("weights", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priority_areas", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "staff_conflicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("organization_name", sa.String(length=200), nullable=False),
        sa.Column("organization_key", sa.String(length=200), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "organization_key"),
    )
    op.create_index(
        op.f("ix_staff_conflicts_organization_key"),
        "staff_conflicts",
        ["organization_key"],
        unique=False,
    )
    op.create_index(
        op.f("ix_staff_conflicts_staff_id"), "staff_conflicts", ["staff_id"], unique=False
    )
    op.add_column(
        "queued_proposals", sa.Column("status_url", sa.Text(), nullable=False, server_default="")
    )
    op.add_column(
        "queued_proposals",
        sa.Column("previous_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "queued_proposals", sa.Column("score", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "queued_proposals",
        sa.Column(
            "score_lines",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default="[]",
        ),
    )
    op.add_column("queued_proposals", sa.Column("score_version", sa.Integer(), nullable=True))
    op.add_column(
        "queued_proposals",
        sa.Column("adjustment", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "queued_proposals",
        sa.Column("adjustment_reason", sa.Text(), nullable=False, server_default=""),
    )
    op.add_column("queued_proposals", sa.Column("assigned_to", sa.Uuid(), nullable=True))
    op.add_column(
        "queued_proposals", sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "queued_proposals", sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        op.f("ix_queued_proposals_assigned_to"), "queued_proposals", ["assigned_to"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_queued_proposals_assigned_to"), table_name="queued_proposals")
    op.drop_column("queued_proposals", "decided_at")
    op.drop_column("queued_proposals", "assigned_at")
    op.drop_column("queued_proposals", "assigned_to")
    op.drop_column("queued_proposals", "adjustment_reason")
    op.drop_column("queued_proposals", "adjustment")
    op.drop_column("queued_proposals", "score_version")
    op.drop_column("queued_proposals", "score_lines")
    op.drop_column("queued_proposals", "score")
    op.drop_column("queued_proposals", "previous_data")
    op.drop_column("queued_proposals", "status_url")
    op.drop_index(op.f("ix_staff_conflicts_staff_id"), table_name="staff_conflicts")
    op.drop_index(op.f("ix_staff_conflicts_organization_key"), table_name="staff_conflicts")
    op.drop_table("staff_conflicts")
    op.drop_table("scoring_configs")
    op.drop_index(op.f("ix_review_comments_proposal_id"), table_name="review_comments")
    op.drop_table("review_comments")
    op.drop_index(op.f("ix_queue_adjustments_proposal_id"), table_name="queue_adjustments")
    op.drop_table("queue_adjustments")
    op.drop_index(op.f("ix_audit_log_entity_id"), table_name="audit_log")
    op.drop_table("audit_log")
