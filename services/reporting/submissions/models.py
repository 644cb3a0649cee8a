"""What the partner wrote: the draft being edited and every submitted version."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, UniqueConstraint, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.base import Base
from shared.db import UTCDateTime, utcnow


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
