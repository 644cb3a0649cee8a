"""What every part of review stores alike: the declarative base, the event tables, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Text,
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
