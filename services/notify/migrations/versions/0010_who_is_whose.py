"""who is whose: each message's alliance and recipient kind, and each alliance's liaison

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-10 10:00:00.000000

The message log shows a liaison the messages of their own alliances and the proposals those
came from (``alliance_liaisons``, kept from the events that name the liaison), and intake's
status page lists only the messages sent to the partner (``message.sent``'s ``recipient``).

Earlier rows: the alliance is the one the cause names (``alliance.*:<alliance id>:...``); the
recipient is "staff" for the Coordinator's and liaisons' messages (by cause and template),
"partner" for the others, and a resent copy's is its original's; each alliance's liaison is
the address its welcome went to (no staff id known: matched by address until an event says).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("alliance_id", sa.Uuid(), nullable=True))
    op.create_index("ix_messages_alliance_id", "messages", ["alliance_id"])
    op.add_column(
        "messages", sa.Column("recipient", sa.String(20), nullable=False, server_default="")
    )
    op.create_table(
        "alliance_liaisons",
        sa.Column("alliance_id", sa.Uuid(), nullable=False),
        sa.Column("proposal_id", sa.Uuid(), nullable=True),
        sa.Column("liaison_id", sa.Uuid(), nullable=True),
        sa.Column("liaison_email", sa.String(254), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alliance_id"),
    )
    op.create_index("ix_alliance_liaisons_proposal_id", "alliance_liaisons", ["proposal_id"])
    op.create_index("ix_alliance_liaisons_liaison_id", "alliance_liaisons", ["liaison_id"])
    op.execute(
        "UPDATE messages SET alliance_id = split_part(cause, ':', 2)::uuid"
        " WHERE cause LIKE 'alliance.%' AND split_part(cause, ':', 2)"
        " ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
    )
    op.execute(
        "UPDATE messages SET recipient = 'staff'"
        " WHERE cause NOT LIKE 'resend:%' AND (cause LIKE '%\\:coordinator'"
        " OR cause LIKE '%\\:liaison' OR template IN ('proposal_coordinator_alert',"
        " 'alliance_signed_liaison', 'report_submitted_liaison', 'report_escalated',"
        " 'delivery_failed', 'webhook_disabled'))"
    )
    op.execute(
        "UPDATE messages SET recipient = 'partner'"
        " WHERE cause NOT LIKE 'resend:%' AND recipient = ''"
    )
    op.execute(
        "UPDATE messages AS copy SET recipient = original.recipient, alliance_id ="
        " original.alliance_id FROM messages AS original"
        " WHERE copy.cause LIKE 'resend:%' AND original.id::text = split_part(copy.cause, ':', 2)"
    )
    op.execute(
        "INSERT INTO alliance_liaisons"
        " (alliance_id, proposal_id, liaison_id, liaison_email, updated_at)"
        " SELECT DISTINCT ON (alliance_id) alliance_id, proposal_id, NULL, to_address, now()"
        " FROM messages WHERE alliance_id IS NOT NULL AND cause LIKE 'alliance.%\\:liaison'"
        " ORDER BY alliance_id, created_at DESC"
    )


def downgrade() -> None:
    op.drop_index("ix_alliance_liaisons_liaison_id", table_name="alliance_liaisons")
    op.drop_index("ix_alliance_liaisons_proposal_id", table_name="alliance_liaisons")
    op.drop_table("alliance_liaisons")
    op.drop_column("messages", "recipient")
    op.drop_index("ix_messages_alliance_id", table_name="messages")
    op.drop_column("messages", "alliance_id")
