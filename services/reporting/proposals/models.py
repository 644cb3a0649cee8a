"""What reporting knows of each proposal: where its organization is and how it stands."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.base import Base
from shared.db import UTCDateTime, utcnow

# Submitted (or resubmitted) by the applicant; then review's decision on that version.
STATUSES = ("submitted", "changes_requested", "declined", "approved")


class ReportingProposal(Base):
    """A proposal's latest known status (from the events of intake and review), its
    organization's name (a declared conflict hides the proposal: people.py) and
    state (from the submitted proposal; empty until a submission is seen)."""

    __tablename__ = "proposals"
    __table_args__ = (CheckConstraint(f"status IN {STATUSES}", name="proposal_status"),)

    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    organization_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    state: Mapped[str] = mapped_column(String(2), default="", server_default="")
    status: Mapped[str] = mapped_column(String(20))
    # The office it asked to lead it (shared/offices.py); None: the top office.
    office: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
