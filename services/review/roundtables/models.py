"""Roundtables and workgroups, and the alliances that take part in them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.review.base import Base
from shared.db import UTCDateTime, utcnow


class Roundtable(Base):
    """An Alliance Program roundtable, or (with a parent) one of its workgroups."""

    __tablename__ = "roundtables"
    __table_args__ = (
        UniqueConstraint("parent_id", "name", postgresql_nulls_not_distinct=True),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="roundtables_dates"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("roundtables.id"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the last day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoundtableMembership(Base):
    """An alliance in a roundtable or workgroup from ``joined_on`` through ``left_on``."""

    __tablename__ = "roundtable_memberships"
    __table_args__ = (
        CheckConstraint(
            "left_on IS NULL OR left_on >= joined_on", name="roundtable_memberships_dates"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    roundtable_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("roundtables.id"), index=True)
    alliance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("alliances.id"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the last day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
