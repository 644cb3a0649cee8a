"""The idempotent inbox and the store of rejected events.

A consumer records each processed ``(consumer, event_id)`` in the same transaction as its
effect, so a redelivered event finds its row and does nothing twice. An event that fails
validation, or whose handler fails for a reason retrying will not cure, is kept in
``rejected_events`` for a person to inspect and replay, never silently dropped: an operator
lists them (``rejected_events``) and sends them to their consumer again once the cause is
fixed (``requeue_rejected``): ``alliance inbox rejected list|requeue SERVICE``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, Text, Uuid, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
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
    # Every service's inbox is the mixin's table.
    assert model.__tablename__ == "processed_events"
    inserted = session.execute(
        _CLAIM,
        {
            "consumer": consumer,
            "event_id": event.event_id,
            "event_type": event.type,
            "processed_at": utcnow(),
        },
    ).first()
    return inserted is not None


# Plain SQL, compiled once: SQLAlchemy caches no compiled PostgreSQL ``insert()`` (its ON
# CONFLICT clause has no cache key), and compiling it anew took longer than running it.
_CLAIM = text(
    "INSERT INTO processed_events (consumer, event_id, event_type, processed_at) "
    "VALUES (:consumer, :event_id, :event_type, :processed_at) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
).bindparams(bindparam("event_id", type_=Uuid), bindparam("processed_at", type_=UTCDateTime))


def safe_payload_id(raw: Any, key: str) -> str | None:
    """The id ``key`` (``proposal_id``, ``alliance_id``) in a raw event's payload, when it is
    one (a malformed event's is not trusted beyond being a UUID)."""
    payload = raw.get("payload") if isinstance(raw, dict) else None
    value = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def safe_event_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("event_id")
        if isinstance(value, str):
            return value[:100]
    return None


# -- what an operator sees and requeues (``alliance inbox rejected list|requeue``) ------------


def rejected_events(
    session: Session, model: type[RejectedEventMixin], *, limit: int = 50
) -> tuple[int, list[RejectedEventMixin]]:
    """How many rejected events ``model`` keeps, and the oldest ``limit`` of them."""
    table: Any = model
    count = session.scalar(select(func.count()).select_from(table)) or 0
    rows = list(session.scalars(select(table).order_by(table.received_at, table.id).limit(limit)))
    return int(count), rows


@dataclass(frozen=True)
class Requeued:
    """One rejected event sent to its consumer again, and the rows that kept it (gone now)."""

    consumer: str
    event_id: str | None
    rows: list[int]


def requeue_rejected(
    session: Session,
    model: type[RejectedEventMixin],
    *,
    send: Callable[[str, Any], None],
    event_id: str | None = None,
) -> list[Requeued]:
    """Send rejected events to their consumers again (``send(consumer, body)``) and remove
    their rows: the rows of ``event_id``, or every row when None. An event rejected several
    times by one consumer goes once. Safe: the consumer is idempotent (an event it has
    processed since does nothing), and one that fails again is kept again, as a new row.

    ``send`` raising stops the requeue: the caller's transaction rolls back, so every row stays
    (events already sent may be processed; sent again later, they do nothing). The caller
    commits."""
    table: Any = model
    query = select(table).order_by(table.received_at, table.id).with_for_update(skip_locked=True)
    if event_id is not None:
        query = query.where(table.event_id == event_id)
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in session.scalars(query):
        key = (row.consumer, row.event_id if row.event_id is not None else f"row {row.id}")
        groups.setdefault(key, []).append(row)
    done = []
    for (consumer, _key), rows in groups.items():
        send(consumer, rows[-1].body)  # the latest copy
        for row in rows:
            session.delete(row)
        done.append(Requeued(consumer, rows[-1].event_id, [row.id for row in rows]))
    session.flush()
    return done
