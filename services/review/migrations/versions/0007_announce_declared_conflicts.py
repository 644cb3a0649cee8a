"""announce the conflicts declared before other services learned them by event

Conflicts declared before ``staff.conflict_declared`` existed were never announced, so
notify would go on showing a conflicted reviewer that organization's messages. This adds one
event per existing declaration to the outbox; the relay publishes them, and notify's consumer
ignores a declaration it already has.

Revision ID: 0007_announce_declared_conflicts
Revises: 0006_outbox_republication
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shared.events import new_event

revision: str = "0007_announce_declared_conflicts"
down_revision: str | None = "0006_outbox_republication"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    conflicts = bind.execute(
        sa.text(
            "SELECT staff_id, organization_name, organization_key, declared_at "
            "FROM staff_conflicts ORDER BY id"
        )
    ).all()
    outbox = sa.table(
        "outbox_events",
        sa.column("event_id", sa.Uuid),
        sa.column("type", sa.String),
        sa.column("version", sa.Integer),
        sa.column("message", sa.dialects.postgresql.JSONB),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("attempts", sa.Integer),
        sa.column("publications", sa.Integer),
    )
    rows = []
    for staff_id, organization_name, organization_key, declared_at in conflicts:
        event = new_event(
            "staff.conflict_declared",
            producer="review",
            payload={
                "staff_id": staff_id,
                "organization_name": organization_name,
                "organization_key": organization_key,
                "declared_at": declared_at,
            },
        )
        rows.append(
            {
                "event_id": event.event_id,
                "type": event.type,
                "version": event.version,
                "message": event.to_message(),
                "created_at": datetime.now(UTC),
                "attempts": 0,
                "publications": 0,
            }
        )
    if rows:
        op.bulk_insert(outbox, rows)


def downgrade() -> None:
    # The announcements may already be delivered; there is nothing to take back.
    pass
