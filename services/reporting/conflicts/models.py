"""The conflicts of interest reporting knows of (shared/conflicts.py)."""

from __future__ import annotations

from services.reporting.base import Base
from shared.conflicts import StaffConflictMixin


class StaffConflict(StaffConflictMixin, Base):
    """A staff member's declared conflict with an organization, as review announced it."""
