"""announce the declared conflicts again, now that reporting keeps a copy of them too

Reporting subscribes to ``staff.conflict_declared`` from this release on; announcing every
declaration once more gives it the ones declared before. Notify already has them and its
consumer changes nothing for a declaration it keeps.

Revision ID: 0008_conflicts_to_reporting
Revises: 0007_announce_declared_conflicts
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

revision: str = "0008_conflicts_to_reporting"
down_revision: str | None = "0007_announce_declared_conflicts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The same announcement as 0007 (one staff.conflict_declared per declaration), once more.
    spec = spec_from_file_location(
        "announce_declared_conflicts",
        Path(__file__).with_name("0007_announce_declared_conflicts.py"),
    )
    if spec is None or spec.loader is None:
        raise RuntimeError("migration 0007_announce_declared_conflicts is missing")
    announcement = module_from_spec(spec)
    spec.loader.exec_module(announcement)
    announcement.upgrade()


def downgrade() -> None:
    # The announcements may already be delivered; there is nothing to take back.
    pass
