"""each webhook delivery's reference (the proposal's, which its alliance keeps)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:20:00.000000

The message log filtered by a reference lists the webhook deliveries of events about that
proposal and its alliance beside its e-mails. Earlier deliveries take the reference their
body's data carries ("" when the event names none).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_deliveries",
        sa.Column("reference", sa.String(40), nullable=False, server_default=""),
    )
    op.execute(
        "UPDATE webhook_deliveries"
        " SET reference = left(coalesce(body::jsonb #>> '{data,reference}', ''), 40)"
    )
    op.create_index("ix_webhook_deliveries_reference", "webhook_deliveries", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_reference", table_name="webhook_deliveries")
    op.drop_column("webhook_deliveries", "reference")
