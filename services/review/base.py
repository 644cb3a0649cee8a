"""What every part of review stores alike: the declarative base, the event tables, the audit
log, and the conflicts of interest staff members declared (which every part's rules read
through ``shared.web.current_acting()``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.inbox import ProcessedEventMixin, RejectedEventMixin
from shared.outbox import OutboxEventMixin


class Base(DeclarativeBase):
    pass


class OutboxEvent(OutboxEventMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class RejectedEvent(RejectedEventMixin, Base):
    pass


class AuditEntry(Base):
    """Who changed what and when, with the fields before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(254))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffConflict(Base):
    """A staff member's declared tie to an organization: its proposals are hidden from them."""

    __tablename__ = "staff_conflicts"
    __table_args__ = (UniqueConstraint("staff_id", "organization_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    organization_name: Mapped[str] = mapped_column(String(200))
    # Lower-cased, punctuation and spacing folded: "Michigan Roofing Assn." matches.
    organization_key: Mapped[str] = mapped_column(String(200), index=True)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
