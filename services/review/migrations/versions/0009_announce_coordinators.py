"""announce the active Coordinators to notify

Notify sends the Coordinator's mail (the new-proposal alert, the 30-day escalation) to the
active Coordinators that review announces (``staff.coordinators_changed``, issue 16). An
upgraded system already has its Coordinators and no announcement of them: this adds one event
with the current list to the outbox (none when there is no Coordinator yet: notify then keeps
writing to COORDINATOR_EMAIL until the first one is created); the relay publishes it.

Revision ID: 0009_announce_coordinators
Revises: 0008_conflicts_to_reporting
Create Date: 2026-12-06 19:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shared.events import new_event

revision: str = "0009_announce_coordinators"
down_revision: str | None = "0008_conflicts_to_reporting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    coordinators = bind.execute(
        sa.text(
            "SELECT id, name, email FROM staff_users"
            " WHERE active AND roles @> ARRAY['coordinator']::varchar[] ORDER BY name, email"
        )
    ).all()
    if not coordinators:
        return
    event = new_event(
        "staff.coordinators_changed",
        producer="review",
        payload={
            "coordinators": [
                {"id": user_id, "name": name, "email": email}
                for user_id, name, email in coordinators
            ],
            "changed_at": datetime.now(UTC),
        },
    )
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
    op.bulk_insert(
        outbox,
        [
            {
                "event_id": event.event_id,
                "type": event.type,
                "version": event.version,
                "message": event.to_message(),
                "created_at": datetime.now(UTC),
                "attempts": 0,
                "publications": 0,
            }
        ],
    )


def downgrade() -> None:
    # The announcement may already be delivered; there is nothing to take back.
    pass
