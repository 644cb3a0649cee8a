"""staff set their own passwords from an e-mailed link

The Coordinator invites a person instead of typing a password for them, and anyone can ask
for a new password ("Forgot your password?"): both e-mail a single-use, expiring link. An
invited person has no password until they follow it, so ``password_hash`` may be empty; each
link is kept as a SHA-256 of its secret, with when it expires, was used or was replaced.

Revision ID: 0011_staff_password_links
Revises: 0010_alliance_signing
Create Date: 2026-12-06 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_staff_password_links"
down_revision: str | None = "0010_alliance_signing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("staff_users", "password_hash", existing_type=sa.Text(), nullable=True)
    op.create_table(
        "staff_password_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('invitation', 'reset')", name="staff_password_links_kind"),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("staff_password_links_user", "staff_password_links", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("staff_password_links_user", table_name="staff_password_links")
    op.drop_table("staff_password_links")
    # An invited person keeps their account, with a hash no password matches.
    op.execute("UPDATE staff_users SET password_hash = '' WHERE password_hash IS NULL")
    op.alter_column("staff_users", "password_hash", existing_type=sa.Text(), nullable=False)
