"""an approved alliance awaits its signing

Approval and signing are two steps: releasing an approval creates the alliance awaiting its
signing (no signing date, no end of term yet); staff record the date the agreement was signed
later, and the report schedule starts from that date. Alliances created before this were
signed at approval: they keep their dates and stay as they are.

Revision ID: 0010_alliance_signing
Revises: 0009_announce_coordinators
Create Date: 2026-12-06 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_alliance_signing"
down_revision: str | None = "0009_announce_coordinators"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("awaiting_signature", "active", "concluded", "terminated", "ambassador")


def upgrade() -> None:
    op.alter_column("alliances", "signing_date", existing_type=sa.Date(), nullable=True)
    op.alter_column("alliances", "ends_on", existing_type=sa.Date(), nullable=True)
    op.create_check_constraint(
        "alliances_status",
        "alliances",
        "status IN (" + ", ".join(f"'{status}'" for status in STATUSES) + ")",
    )
    # Only an alliance awaiting its signing lacks the dates of its term.
    op.create_check_constraint(
        "alliances_signed",
        "alliances",
        "(status = 'awaiting_signature') = (signing_date IS NULL)"
        " AND (signing_date IS NULL) = (ends_on IS NULL)",
    )


def downgrade() -> None:
    waiting = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM alliances WHERE status = 'awaiting_signature'")
    )
    if waiting:
        # The older schema has no place for an alliance without its signing date.
        raise RuntimeError(
            f"{waiting} alliance(s) await their signing: record it before downgrading."
        )
    op.drop_constraint("alliances_signed", "alliances", type_="check")
    op.drop_constraint("alliances_status", "alliances", type_="check")
    op.alter_column("alliances", "ends_on", existing_type=sa.Date(), nullable=False)
    op.alter_column("alliances", "signing_date", existing_type=sa.Date(), nullable=False)
