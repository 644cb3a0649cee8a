"""The idempotent inbox and the store of rejected events.

A consumer records each processed ``(consumer, event_id)`` in the same transaction as its
effect, so a redelivered event finds its row and does nothing twice. An event that fails
validation, or whose handler fails for a reason retrying will not cure, is kept in
``rejected_events`` for a person to inspect and replay, never silently dropped.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.events import Event


class ProcessedEventMixin:
    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(120), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RejectedEventMixin:
    __tablename__ = "rejected_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(120))
    event_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason: Mapped[str] = mapped_column(String(20))  # "malformed" or "failed"
    body: Mapped[Any] = mapped_column(JSONB)
    errors: Mapped[Any] = mapped_column(JSONB)
    detail: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def claim(
    session: Session, model: type[ProcessedEventMixin], *, consumer: str, event: Event
) -> bool:
    """Record that ``consumer`` handles ``event`` now. False if it already did.

    A concurrent duplicate blocks on the primary key until the first transaction ends, then
    sees the conflict: the pair is handled once whatever the timing.
    """
    table: Any = model.__table__  # type: ignore[attr-defined]
    inserted = session.execute(
        insert(table)
        .values(
            consumer=consumer,
            event_id=event.event_id,
            event_type=event.type,
            processed_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    ).first()
    return inserted is not None


def safe_event_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("event_id")
        if isinstance(value, str):
            return value[:100]
    return None
