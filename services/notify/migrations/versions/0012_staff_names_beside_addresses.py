"""the name of the staff member who edited, released, registered or replayed, beside the
e-mail address that stays their identity: staff pages show people by name

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 21:30:00.000000

Rows recorded before these columns keep a null name and are shown by the address.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("messages", "edited_by_name"),
    ("messages", "released_by_name"),
    ("webhook_endpoints", "created_by_name"),
    ("webhook_deliveries", "replay_requested_by_name"),
    ("webhook_attempts", "replayed_by_name"),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sa.String(length=200), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        op.drop_column(table, column)
