"""The liaison's (or the Coordinator's) decision on one submitted version of a report."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.base import Base
from shared.db import UTCDateTime, utcnow

DECISIONS = ("accepted", "revision_requested")


class ReportReview(Base):
    """One review per submitted version: accepted, or a revision asked for with comments."""

    __tablename__ = "report_reviews"
    __table_args__ = (
        UniqueConstraint("report_id", "version"),
        CheckConstraint(f"decision IN {DECISIONS}", name="review_decision"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(20))
    comments: Mapped[str] = mapped_column(Text, default="")
    # The reviewer: the address is the identity, the name (as it was then; null for reviews
    # recorded before names were) is what the page and the printout show.
    reviewed_by: Mapped[str] = mapped_column(String(254))
    reviewed_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def reviewed_by_shown(self) -> str:
        """Who reviewed it, by name; by address when no name was recorded."""
        return self.reviewed_by_name or self.reviewed_by


class ReportLinkResend(Base):
    """A new link to a report's form sent to the partner at a staff member's request: who
    asked (their name as the page shows it, and their address) and when."""

    __tablename__ = "report_link_resends"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"), index=True)
    sent_by: Mapped[str] = mapped_column(String(200))
    sent_by_email: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
