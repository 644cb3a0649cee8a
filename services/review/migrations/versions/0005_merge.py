"""merge the staff-accounts and queue branches

Revision ID: 0005_merge
Revises: 0002_staff, 0004_agreements
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0005_merge"
down_revision: str | Sequence[str] | None = ("0002_staff", "0004_agreements")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
