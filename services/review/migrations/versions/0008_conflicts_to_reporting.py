"""announce the declared conflicts again, now that reporting keeps a copy of them too

Reporting subscribes to ``staff.conflict_declared`` from this release on; announcing every
declaration once more gives it the ones declared before. Notify already has them and its
consumer changes nothing for a declaration it keeps.

Revision ID: 0008_conflicts_to_reporting
Revises: 0007_announce_declared_conflicts
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shared.events import new_event

revision: str = "0008_conflicts_to_reporting"
down_revision: str | None = "0007_announce_declared_conflicts"
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
