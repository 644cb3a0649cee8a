"""roundtables keep their meetings and the products their members make together

A roundtable or workgroup records the days it met (topic, summary, who attended) and the
products made together (fact sheets, toolbox talks, webinars, translations, other), each with
an optional http(s) link and whether the public directory lists it; both with who recorded
them and when.

Revision ID: 0013_roundtable_work
Revises: 0012_offices
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_roundtable_work"
down_revision: str | None = "0012_offices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roundtable_meetings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("roundtable_id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=254), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["roundtable_id"], ["roundtables.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_roundtable_meetings_roundtable_id", "roundtable_meetings", ["roundtable_id"]
    )
    op.create_table(
        "roundtable_products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("roundtable_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=254), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('fact_sheet', 'toolbox_talk', 'webinar', 'translation', 'other')",
            name="roundtable_products_kind",
        ),
        sa.CheckConstraint(
            "url = '' OR url ~* '^https?://'",
            name="roundtable_products_url",
        ),
        sa.ForeignKeyConstraint(["roundtable_id"], ["roundtables.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_roundtable_products_roundtable_id", "roundtable_products", ["roundtable_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_roundtable_products_roundtable_id", table_name="roundtable_products")
    op.drop_table("roundtable_products")
    op.drop_index("ix_roundtable_meetings_roundtable_id", table_name="roundtable_meetings")
    op.drop_table("roundtable_meetings")
