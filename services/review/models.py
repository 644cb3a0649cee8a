"""Review's data: its own copy of each submitted proposal, as the queue sees it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.inbox import ProcessedEventMixin, RejectedEventMixin
from shared.outbox import OutboxEventMixin


class Base(DeclarativeBase):
    pass


class QueuedProposal(Base):
    __tablename__ = "queued_proposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    proposal_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    reference: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30), default="waiting")
    organization_name: Mapped[str] = mapped_column(String(200))
    organization_type: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(2))
    requested_division: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(OutboxEventMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class RejectedEvent(RejectedEventMixin, Base):
    pass
