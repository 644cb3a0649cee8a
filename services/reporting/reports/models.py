"""The report aggregate: a report a partner owes, its reminders, the draft the partner is
editing, every version they submitted, the liaison's review of each version and the new links
sent to the partner. Only the report part's domain modules change them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.reporting.base import Base
from shared.db import UTCDateTime, utcnow

REPORT_KINDS = ("quarterly", "annual")
STATUSES = (
    "scheduled",
    "due_soon",
    "due",
    "overdue",
    "submitted",
    "revision_requested",
    "accepted",
    "cancelled",
)
# A report in one of these gets no more reminders.
CLOSED = ("submitted", "accepted", "cancelled")
REMINDER_KINDS = ("due_soon", "due", "overdue", "escalated")
DECISIONS = ("accepted", "revision_requested")  # a review's


class Report(Base):
    """One report a partner owes: its period, due date and where it stands."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("alliance_id", "kind", "term", "period_start"),
        CheckConstraint(f"kind IN {REPORT_KINDS}", name="report_kind"),
        CheckConstraint(f"status IN {STATUSES}", name="report_status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    alliance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alliances.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    term: Mapped[int] = mapped_column(Integer)  # 0: the initial term, n: the n-th renewal
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reminders: Mapped[list[ReportReminder]] = relationship(
        back_populates="report", order_by="ReportReminder.due_at"
    )


class ReportReminder(Base):
    """One reminder of a report, sent at most once: ``sent_at`` is set in the transaction
    that adds its event to the outbox. ``skipped``: never to be sent (an older reminder
    passed over after an outage, with ``sent_at`` set; or its report was cancelled or
    submitted first)."""

    __tablename__ = "report_reminders"
    __table_args__ = (
        # One round per due date: 0 the schedule's, n the n-th revision request's.
        UniqueConstraint("report_id", "round", "kind", "days", name="uq_report_reminders_round"),
        CheckConstraint(f"kind IN {REMINDER_KINDS}", name="reminder_kind"),
        # The sweep's "unsent reminders due by now": its cost grows with what is due.
        Index(
            "ix_report_reminders_unsent",
            "due_at",
            postgresql_where=text("sent_at IS NULL AND NOT skipped"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    days: Mapped[int] = mapped_column(Integer)  # offset from the due date
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)

    report: Mapped[Report] = relationship(back_populates="reminders")


class ReportDraft(Base):
    """The report's content as last saved or submitted: the form starts from it."""

    __tablename__ = "report_drafts"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportVersion(Base):
    """One submission, never changed afterwards: 1 for the first, 2 after a revision
    request, ..."""

    __tablename__ = "report_versions"
    __table_args__ = (UniqueConstraint("report_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    on_time: Mapped[bool] = mapped_column(Boolean)
    # Sent before the period ended, the partner having confirmed it covers only part of it.
    sent_early: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


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
