"""staff conflicts (from ``staff.conflict_declared``) and each message's organization

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 17:10:00.000000

Messages stored before this revision did not keep their organization. The Coordinator's alert
and the liaison's welcome name it in their subject, which nobody edits; every message about
the same proposal (and the failure alerts naming its reference) takes the key found there.
Messages about a proposal that has neither stay "" and are hidden from no one.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The subjects of services/notify/templates/email/*.subject.txt that name the organization.
SUBJECTS = {
    "proposal_coordinator_alert": re.compile(
        r"^Action required: new Alliance proposal \S+ from (?P<name>.+?)"
        r"(?: \(resubmitted, version \d+\))?$"
    ),
    "alliance_signed_liaison": re.compile(
        r"^Action required: you are the liaison for (?P<name>.+) \([^()]*\)$"
    ),
}


def organization_key(name: str) -> str:
    """``shared.domain.organization_key`` as of this revision (no application code here)."""
    return " ".join(re.findall(r"[a-z0-9]+", name.lower()))


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("organization_key", sa.String(length=200), server_default="", nullable=False),
    )
    op.alter_column("messages", "organization_key", server_default=None)
    op.create_index(
        op.f("ix_messages_organization_key"), "messages", ["organization_key"], unique=False
    )
    op.create_table(
        "staff_conflicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("organization_name", sa.String(length=200), nullable=False),
        sa.Column("organization_key", sa.String(length=200), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "organization_key"),
    )
    op.create_index(
        op.f("ix_staff_conflicts_staff_id"), "staff_conflicts", ["staff_id"], unique=False
    )
    backfill_organization_keys()


def backfill_organization_keys() -> None:
    connection = op.get_bind()
    named = connection.execute(
        sa.text(
            "SELECT proposal_id, reference, template, subject FROM messages"
            " WHERE template IN :templates ORDER BY created_at"
        ).bindparams(sa.bindparam("templates", expanding=True)),
        {"templates": list(SUBJECTS)},
    )
    by_proposal: dict[object, str] = {}
    by_reference: dict[str, str] = {}
    for proposal_id, reference, template, subject in named:
        found = SUBJECTS[template].match(subject)
        key = organization_key(found["name"]) if found else ""
        if not key:
            continue
        if proposal_id is not None:
            by_proposal[proposal_id] = key  # the newest version's name wins
        if reference:
            by_reference[reference] = key
    for proposal_id, key in by_proposal.items():
        connection.execute(
            sa.text("UPDATE messages SET organization_key = :key WHERE proposal_id = :id"),
            {"key": key, "id": proposal_id},
        )
    for reference, key in by_reference.items():
        connection.execute(
            sa.text(
                "UPDATE messages SET organization_key = :key"
                " WHERE proposal_id IS NULL AND organization_key = '' AND reference = :reference"
            ),
            {"key": key, "reference": reference},
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_conflicts_staff_id"), table_name="staff_conflicts")
    op.drop_table("staff_conflicts")
    op.drop_index(op.f("ix_messages_organization_key"), table_name="messages")
    op.drop_column("messages", "organization_key")
