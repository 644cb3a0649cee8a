"""Reports a partner owes and the reminders of each."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
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
