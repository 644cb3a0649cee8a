"""ix_messages_shown: the message log's order (newest first by the time it shows)

Revision ID: 0015
Revises: 0014
Create Date: 2027-01-12 10:00:00.000000

The log shows a page of 50 of every message ever sent, newest first by when it was sent or,
until it is, recorded (services/notify/log/domain.py ``shown_time``): without an index in that
order, each page sorted the whole table (hundreds of milliseconds at a few years' mail).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_messages_shown ON messages ((coalesce(sent_at, created_at)) DESC, id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_messages_shown")
